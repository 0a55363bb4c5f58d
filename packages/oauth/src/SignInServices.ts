/**
 * The services a ChatGPT sign-in needs besides configuration and store: which issuer and client
 * to talk to (`--issuer` / `CODEX_AUTH_ISSUER`, `--client-id` / `CODEX_AUTH_CLIENT_ID`), the
 * TLS/proxy-aware `HttpClient` of `@codex-auth/tls` (`CODEX_CA_CERTIFICATE`, `SSL_CERT_FILE`,
 * `HTTPS_PROXY`, …), and the refresh/revoke transport over it (used to revoke superseded tokens).
 * Shared by the CLI's sign-in commands and the device-login worker.
 *
 * @since 0.1.0
 */
import * as Tls from "@codex-auth/tls/Tls"
import { Layer } from "effect"
import * as OAuthConfig from "./OAuthConfig.ts"
import * as RefreshTransport from "./RefreshTransport.ts"

export interface SignInFlags {
  readonly issuer: string | undefined
  readonly clientId: string | undefined
}

/** `OAuthConfig` + `HttpClient` + `RefreshTransport` (revocations time out after 5 s). */
export const layer = (flags: SignInFlags) =>
  Layer.mergeAll(
    OAuthConfig.layerResolved({ issuer: flags.issuer, clientId: flags.clientId }),
    RefreshTransport.layerWith({ revokeTimeout: "5 seconds" })
  ).pipe(Layer.provideMerge(Tls.layerHttpClient))

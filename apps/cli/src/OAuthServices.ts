/**
 * The services the ChatGPT sign-in commands add to the base layer: which issuer and client to
 * talk to (`--issuer` / `CODEX_AUTH_ISSUER`, `--client-id` / `CODEX_AUTH_CLIENT_ID`), the
 * TLS/proxy-aware `HttpClient` of `@codex-auth/tls` (`CODEX_CA_CERTIFICATE`, `SSL_CERT_FILE`,
 * `HTTPS_PROXY`, …), and the refresh/revoke transport over it (used to revoke superseded tokens).
 *
 * Sign-in needs the network, so a broken CA bundle or proxy variable fails the command up front
 * with its own message (exit code 6), before a browser is opened or a code is shown.
 *
 * @since 0.1.0
 */
import * as SignInServices from "@codex-auth/oauth/SignInServices"

export type OAuthFlags = SignInServices.SignInFlags

/** `OAuthConfig` + `HttpClient` + `RefreshTransport` (revocations time out after 5 s): `SignInServices.layer`. */
export const oauthLayer = SignInServices.layer

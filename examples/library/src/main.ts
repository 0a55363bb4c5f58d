/**
 * codex-auth as a library: an internal tool that calls an API with the credentials the Codex CLI
 * and codex-auth share (`$CODEX_HOME/auth.json`), composed from the same layers the CLI uses:
 *
 * - the file `CredentialStore` (`@codex-auth/storage/FileStore`; use `Selection.layer` for
 *   keyring/auto),
 * - the login policy from config.toml and managed configuration (`@codex-auth/policy`),
 * - the TLS/proxy-aware `HttpClient` (`@codex-auth/tls`: `CODEX_CA_CERTIFICATE`, `SSL_CERT_FILE`,
 *   `HTTPS_PROXY`, `NO_PROXY`),
 * - the refresh transport and the authenticated client (`@codex-auth/oauth`),
 * - the `AuthManager` (`@codex-auth/core`), which refreshes tokens safely across processes.
 *
 * Run: `node examples/library/src/main.ts [URL]` (Node ≥ 22.18 runs TypeScript directly). URL
 * defaults to `{issuer}/userinfo` of the stored credentials' issuer. Exit codes are the CLI's:
 * 1 not logged in, 3 sign in again, 4 policy, 5 storage, 6 network.
 *
 * @since 0.1.0
 */
import { AuthManager, Errors } from "@codex-auth/core"
import { AuthenticatedClient, RefreshTransport } from "@codex-auth/oauth"
import * as Policy from "@codex-auth/policy/Policy"
import * as CodexHome from "@codex-auth/storage/CodexHome"
import * as FileStore from "@codex-auth/storage/FileStore"
import * as Tls from "@codex-auth/tls/Tls"
import { Cause, Effect, Exit, Layer } from "effect"

const codexHome = CodexHome.resolveCodexHome(undefined).path

/** AuthManager over the file store, the configured policy and the HTTP refresh transport. */
const AuthLive = AuthManager.AuthManager.layerWith({ codexHome }).pipe(
  Layer.provide(RefreshTransport.layer),
  Layer.provide(FileStore.layer({ codexHome })),
  Layer.provide(Policy.layerFromFiles({ codexHome }))
)

/** Everything the program needs; one HttpClient (and one connection pool) shared by both. */
export const MainLive = AuthenticatedClient.layer.pipe(
  Layer.provideMerge(AuthLive),
  Layer.provide(Tls.layerHttpClient)
)

const program = Effect.gen(function*() {
  const auth = yield* AuthManager.AuthManager
  const who = yield* auth.current
  console.log(`credentials: ${who.mode} from ${who.source}${who.claims?.email ? `, ${who.claims.email}` : ""}${who.accountId ? `, workspace ${who.accountId}` : ""}`)

  // The hot path: a valid token comes from memory, no file or network I/O per call.
  const started = performance.now()
  for (let i = 0; i < 100_000; i++) yield* auth.accessToken
  console.log(`hot path: 100000 accessToken calls in ${(performance.now() - started).toFixed(1)} ms`)

  const url = process.argv[2] ?? `${who.issuer ?? "https://auth.openai.com"}/userinfo`
  const client = yield* AuthenticatedClient.AuthenticatedClient
  const response = yield* client.get(url)
  const body = yield* response.json
  const email = typeof body === "object" && body !== null && "email" in body ? String(body.email) : undefined
  console.log(`GET ${url} → HTTP ${response.status}${email !== undefined ? ` (email ${email})` : ""}`)
  const status = yield* auth.refreshStatus
  console.log(`refresh requests sent by this process: ${status.refreshRequests}`)
})

const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(MainLive)))
if (Exit.isFailure(exit)) {
  const error = Cause.squash(exit.cause)
  if (Errors.isUserFacing(error)) {
    console.error(`error: ${error.userMessage}`)
    if (error.hint !== undefined) console.error(`hint: ${error.hint}`)
    process.exitCode = error.exitCode
  } else {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 70
  }
}

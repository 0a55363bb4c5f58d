/**
 * `codex-auth token`: prints the bearer token for scripts — the API key, or a ChatGPT access
 * token refreshed first when it is expired, within 5 minutes of expiry, or older than 8 days —
 * and nothing else on stdout. Refreshes go through the AuthManager: one refresh for any number
 * of concurrent `token` calls, across processes (the `auth.json.lock` lock), never replayed.
 *
 * Exit codes: 1 not logged in, 3 the session ended (sign in again), 6 network/issuer error with
 * an expired token (a still-valid token is printed even if the refresh failed).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { Command } from "effect/cli"
import { lazyRefreshTransport } from "../AuthServices.ts"
import { tokenProgram } from "../programs/Token.ts"
import { root } from "../Root.ts"
import { appContext } from "../Services.ts"

export const token = Command.make(
  "token",
  {},
  Effect.fn("token")(function*() {
    return yield* tokenProgram(appContext(yield* root), lazyRefreshTransport)
  })
).pipe(Command.withDescription("Print the API key or a valid ChatGPT access token (refreshed if needed) for scripts"))

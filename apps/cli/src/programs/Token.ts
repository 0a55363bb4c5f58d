/**
 * The `token` program, shared by the effect/cli command and the fast path: prints the bearer
 * token — the API key, or a ChatGPT access token that the `AuthManager` refreshed first when it
 * was expired, within 5 minutes of expiry, or older than 8 days — and nothing else on stdout.
 * The configuration is loaded and the policy enforced first (`authLayer` builds on `baseLayer`).
 *
 * The HTTP stack (oauth's refresh transport, TLS, proxy, undici) is loaded only when a refresh is
 * actually sent: the command passes `AuthServices.lazyRefreshTransport`; the fast path passes
 * `HandOff.handOffTransport`, which hands such a run over to the full CLI. (Neither is a default
 * here, so the fast path's bundle holds no reference to the HTTP stack.)
 *
 * @since 0.1.0
 */
import { AuthManager, Errors, type RefreshTransport, SafeText } from "@codex-auth/core"
import { Effect, Layer, Redacted } from "effect"
import { authLayer } from "../AuthServices.ts"
import type { AppContext } from "../Services.ts"
import { stdout } from "./Stdout.ts"

export const tokenProgram = (
  ctx: AppContext,
  transport: Layer.Layer<RefreshTransport.RefreshTransport>
): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    const manager = yield* AuthManager.AuthManager
    const bearer = yield* manager.accessToken
    // Refreshed, but the store refused the rotated tokens (after proving it could take them): this
    // process ends, and with it the only copy; say so rather than print a token as if all were well.
    const { unsaved } = yield* manager.refreshStatus
    if (unsaved !== undefined) {
      return yield* new Errors.StorageError({
        backend: unsaved.backend,
        operation: "write",
        location: unsaved.location,
        detail: `the token was refreshed, but the new credentials could not be saved (${unsaved.detail}, 4 attempts); the rotated refresh token existed only in this process`,
        suggestion: `${unsaved.hint ?? "Fix the store's problem."} Then run \`codex-auth token\` again; if it says the session ended, sign in again with \`codex-auth login\`.`
      })
    }
    yield* stdout(Redacted.value(bearer))
    // A transient refresh failure with a token still valid: say so, so scripts' logs show why.
    // (Credentials that changed during the refresh POST: the AuthManager's warning, on stderr via Output.loggerLayer.)
    const { lastError } = yield* manager.refreshStatus
    if (lastError !== undefined) {
      yield* Effect.sync(() =>
        process.stderr.write(`warning: could not refresh the access token (${SafeText.escape(lastError.userMessage)}); printed the current one, which is still valid. codex-auth tries again later.\n`)
      )
    }
  }).pipe(Effect.provide(Layer.fresh(authLayer(ctx, transport))))

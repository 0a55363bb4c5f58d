/**
 * `codex-auth token`: prints the API key or the ChatGPT access token for scripts, and nothing
 * else on stdout.
 *
 * @since 0.1.0
 */
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { Effect, Layer, Option, Redacted } from "effect"
import { Command } from "effect/cli"
import { stdout } from "../Output.ts"
import { root } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"

export const token = Command.make(
  "token",
  {},
  Effect.fn("token")(function*() {
    const ctx = appContext(yield* root)
    yield* Effect.gen(function*() {
      const store = yield* CredentialStore.CredentialStore
      const doc = yield* store.load
      if (Option.isNone(doc)) return yield* new Errors.NotLoggedIn({})
      const mode = AuthDotJson.modeOf(doc.value)
      const secret = mode === "apikey" ? doc.value.apiKey : doc.value.tokens?.accessToken
      if (secret === undefined) return yield* new Errors.NotLoggedIn({})
      yield* stdout(Redacted.value(secret))
    }).pipe(Effect.provide(Layer.fresh(baseLayer(ctx))))
  })
).pipe(Command.withDescription("Print the API key or a valid ChatGPT access token (refreshed if needed) for scripts"))

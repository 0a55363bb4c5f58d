/**
 * `codex-auth login`: the entry to every sign-in method.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { root } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"
import { loginWithApiKey } from "./login-api-key.ts"
import { status } from "./status.ts"

export const login = Command.make(
  "login",
  {
    withApiKey: Flag.Boolean("with-api-key").pipe(
      Flag.withDescription("Read an API key from stdin and store it (never pass keys as arguments)")
,
      Flag.withDefault(false)
    ),
    deviceAuth: Flag.Boolean("device-auth").pipe(
      Flag.withDescription("Sign in with ChatGPT using a device code (for machines without a browser)")
,
      Flag.withDefault(false)
    ),
    noBrowser: Flag.Boolean("no-browser").pipe(
      Flag.withDescription("Print the sign-in URL instead of opening a browser")
,
      Flag.withDefault(false)
    ),
    paste: Flag.Boolean("paste").pipe(
      Flag.withDescription("Paste-back mode: open the URL anywhere, then paste the final redirect URL here")
,
      Flag.withDefault(false)
    )
  },
  Effect.fn("login")(function*(flags) {
    const ctx = appContext(yield* root)
    if (flags.withApiKey) {
      if (flags.deviceAuth || flags.paste || flags.noBrowser) {
        return yield* new Errors.UsageError({ detail: "--with-api-key cannot be combined with --device-auth, --paste or --no-browser" })
      }
      return yield* loginWithApiKey().pipe(Effect.provide(Layer.fresh(baseLayer(ctx))))
    }
    return yield* new Errors.UsageError({
      detail: "Sign in with ChatGPT is not available in this build yet",
      suggestion: "Use `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
    })
  })
).pipe(
  Command.withDescription("Sign in with ChatGPT (browser, device code or paste-back) or with an API key from stdin"),
  Command.withSubcommands([status]),
  Command.withExamples([
    { command: "codex-auth login", description: "Sign in with ChatGPT in your browser" },
    { command: "codex-auth login --device-auth", description: "Sign in with a device code on a headless machine" },
    { command: "printenv OPENAI_API_KEY | codex-auth login --with-api-key", description: "Store an API key read from stdin" }
  ])
)

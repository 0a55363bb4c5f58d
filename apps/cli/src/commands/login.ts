/**
 * `codex-auth login`: the entry to every sign-in method — the browser (default), `--no-browser`
 * (print the URL), `--paste` (paste the final redirect URL back), `--device-auth` (device code),
 * and `--with-api-key` (a key from stdin).
 *
 * `--issuer URL` (also Codex's spelling `--experimental_issuer`, or `CODEX_AUTH_ISSUER`) points
 * the ChatGPT flows at another issuer, e.g. the mock; `--client-id` (`--experimental_client-id`,
 * `CODEX_AUTH_CLIENT_ID`) at another client. Both are hidden from the help: they are for tests.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { root, switchFlag } from "../Root.ts"
import { appContext, baseLayer } from "../Services.ts"
import { loginWithApiKey } from "./login-api-key.ts"
import { defaultTimeout, loginChatGpt, parseTimeout } from "./login-chatgpt.ts"
import { status } from "./status.ts"

const hiddenString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.withHidden, Flag.optional)

export const login = Command.make(
  "login",
  {
    withApiKey: switchFlag("with-api-key", "Read an API key from stdin and store it (never pass keys as arguments)"),
    deviceAuth: switchFlag("device-auth", "Sign in with ChatGPT using a device code (for machines without a browser)"),
    noBrowser: switchFlag("no-browser", "Print the sign-in URL instead of opening a browser"),
    paste: switchFlag("paste", "Paste-back mode: open the URL in any browser, then paste the final redirect URL here"),
    timeout: Flag.String("timeout").pipe(
      Flag.withDescription("How long to wait for the browser sign-in, e.g. 10m (default), 90s"),
      Flag.optional
    ),
    issuer: hiddenString("issuer", "Issuer base URL (default: $CODEX_AUTH_ISSUER, else https://auth.openai.com)"),
    experimentalIssuer: hiddenString("experimental_issuer", "Same as --issuer (the Codex CLI's spelling)"),
    clientId: hiddenString("client-id", "OAuth client id (default: $CODEX_AUTH_CLIENT_ID, else Codex's public client)"),
    experimentalClientId: hiddenString("experimental_client-id", "Same as --client-id (the Codex CLI's spelling)")
  },
  Effect.fn("login")(function*(flags) {
    const ctx = appContext(yield* root)
    if (flags.withApiKey) {
      if (flags.deviceAuth || flags.paste || flags.noBrowser) {
        return yield* new Errors.UsageError({ detail: "--with-api-key cannot be combined with --device-auth, --paste or --no-browser" })
      }
      return yield* loginWithApiKey().pipe(Effect.provide(Layer.fresh(baseLayer(ctx))))
    }
    if (flags.deviceAuth && (flags.paste || flags.noBrowser)) {
      return yield* new Errors.UsageError({
        detail: "--device-auth cannot be combined with --paste or --no-browser",
        suggestion: "Pick one: `codex-auth login --device-auth`, or `codex-auth login --paste`."
      })
    }
    const timeout = Option.isSome(flags.timeout) ? yield* parseTimeout(flags.timeout.value) : defaultTimeout
    return yield* loginChatGpt(ctx, {
      method: flags.deviceAuth ? "device" : flags.paste ? "paste" : flags.noBrowser ? "print" : "browser",
      timeout,
      issuer: Option.getOrUndefined(Option.orElse(flags.issuer, () => flags.experimentalIssuer)),
      clientId: Option.getOrUndefined(Option.orElse(flags.clientId, () => flags.experimentalClientId))
    })
  })
).pipe(
  Command.withDescription("Sign in with ChatGPT (browser, paste-back or device code) or with an API key from stdin"),
  Command.withSubcommands([status]),
  Command.withExamples([
    { command: "codex-auth login", description: "Sign in with ChatGPT in your browser" },
    { command: "codex-auth login --no-browser", description: "Print the sign-in URL instead of opening a browser" },
    { command: "codex-auth login --paste", description: "Sign in from any browser and paste the final URL back (SSH, containers, WSL)" },
    { command: "codex-auth login --device-auth", description: "Sign in with a device code on a headless machine" },
    { command: "printenv OPENAI_API_KEY | codex-auth login --with-api-key", description: "Store an API key read from stdin" }
  ])
)

/**
 * `codex-auth login` (browser), `login --no-browser`, `login --paste` and `login --device-auth`:
 * Sign in with ChatGPT. The flows live in `@codex-auth/oauth`; this module is their terminal
 * face — what is printed, the countdown, reading pasted lines — and the composition with the
 * policy and the credential store.
 *
 * Everything is written to stderr (stdout stays empty for scripts). The order of work is
 * Codex's: policy allows the method → flow → code exchange → policy accepts the credentials →
 * store → revoke what was superseded.
 *
 * @since 0.1.0
 */
import { AuthPolicy, Errors, SafeText } from "@codex-auth/core"
import * as Browser from "@codex-auth/oauth/Browser"
import * as BrowserLogin from "@codex-auth/oauth/BrowserLogin"
import * as DeviceCode from "@codex-auth/oauth/DeviceCode"
import * as LoginLock from "@codex-auth/storage/LoginLock"
import * as OAuthConfig from "@codex-auth/oauth/OAuthConfig"
import * as Persist from "@codex-auth/oauth/Persist"
import { Policy } from "@codex-auth/policy"
import { Duration, Effect, Fiber, Layer, Option, Queue } from "effect"
import { createInterface } from "node:readline"
import { type OAuthFlags, oauthLayer } from "../OAuthServices.ts"
import { stderr } from "../Output.ts"
import { type AppContext, baseLayer } from "../Services.ts"

export interface ChatGptLoginOptions extends OAuthFlags {
  readonly method: "browser" | "print" | "paste" | "device"
  /** Browser flows only. */
  readonly timeout: Duration.Duration
}

/** How long a browser sign-in waits unless `--timeout` says otherwise. */
export const defaultTimeout = Duration.minutes(10)

/** `10m`, `90s`, `600` (seconds), `1h`. */
export const parseTimeout = (text: string): Effect.Effect<Duration.Duration, Errors.UsageError> => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text)
  const unit = (m?.[2] ?? "s").toLowerCase()
  const n = m === null ? Number.NaN : Number(m[1])
  const ms = unit === "ms" ? n : unit === "m" || unit === "min" ? n * 60_000 : unit === "h" ? n * 3_600_000 : n * 1000
  return Number.isFinite(ms) && ms > 0 && ms <= 24 * 3_600_000
    ? Effect.succeed(Duration.millis(ms))
    : Effect.fail(new Errors.UsageError({ detail: `--timeout ${SafeText.argument(text)} is not a duration`, suggestion: "Use e.g. --timeout 10m, --timeout 90s or --timeout 600 (seconds), at most 24h." }))
}

const isTty = () => process.stderr.isTTY === true

/** Clears the countdown line (TTY only). */
const clearLine = Effect.sync(() => {
  if (isTty()) process.stderr.write("\r\u001b[2K")
})

const say = (text: string) => Effect.andThen(clearLine, stderr(text))

const mmss = (ms: number) => {
  const s = Math.max(0, Math.ceil(ms / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`
}

const sshHint = (port: number): string | undefined => {
  const conn = process.env["SSH_CONNECTION"]?.trim().split(/\s+/)
  if (conn === undefined || conn.length < 4) return undefined
  const [, , serverIp, serverPort] = conn
  const user = process.env["USER"] ?? process.env["LOGNAME"]
  const host = serverIp!.includes(":") ? `[${serverIp}]` : serverIp!
  return [
    "You are connected over SSH, so a browser on your own computer cannot reach this machine's localhost.",
    "Forward the callback port by running this on your computer, then open the URL there:",
    `  ssh -L ${port}:localhost:${port}${serverPort !== "22" ? ` -p ${serverPort}` : ""} ${user !== undefined ? `${user}@` : ""}${host}`,
    "Or sign in without a tunnel: `codex-auth login --paste` or `codex-auth login --device-auth`."
  ].join("\n")
}

/**
 * Under WSL the browser usually runs on Windows, whose `localhost` reaches WSL's listener only
 * through localhost forwarding (NAT networking) or mirrored networking: when neither works, the
 * sign-in never arrives (openai/codex#12263, #4562). Say so up front, with the ways around it.
 */
const wslHint = (): string | undefined =>
  Browser.isWsl()
    ? [
      "This is WSL: if the browser runs on Windows and the sign-in never arrives, Windows' localhost is not reaching WSL",
      "(turn on WSL's mirrored networking, or localhost forwarding). Or sign in without it: `codex-auth login --paste` or `codex-auth login --device-auth`."
    ].join("\n")
    : undefined

/** Lines typed (or piped) on stdin, for paste-back; `None` at end of input. */
const stdinLines = Effect.acquireRelease(
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Option.Option<string>>()
    const rl = createInterface({ input: process.stdin, terminal: false })
    rl.on("line", (line) => Queue.offerUnsafe(queue, Option.some(line)))
    rl.on("close", () => Queue.offerUnsafe(queue, Option.none()))
    return { rl, read: Queue.take(queue) }
  }),
  ({ rl }) => Effect.sync(() => {
    rl.close()
    process.stdin.pause()
  })
)

/** The last line of a sign-in. Claims come from the issuer: escaped (`SafeText.escape`), like every line built from outside text. */
const describeStore = (result: Persist.PersistResult) => {
  const c = result.claims
  const who = c?.email ?? "your ChatGPT account"
  const details = [c?.planType !== undefined ? `plan ${c.planType}` : undefined, c?.accountId !== undefined ? `workspace ${c.accountId}` : undefined]
    .filter((d) => d !== undefined)
  return SafeText.escape(`Logged in using ChatGPT as ${who}${details.length > 0 ? ` (${details.join(", ")})` : ""}; stored in ${result.store.location}.`)
}

const reportSuperseded = (superseded: Persist.RevokeOutcome | undefined) =>
  superseded === undefined
    ? Effect.void
    : superseded._tag === "Revoked"
    ? stderr("Revoked the refresh token of the session this login replaced.")
    : stderr(SafeText.escape(`warning: could not revoke the refresh token of the session this login replaced (${superseded.detail}); it stays valid at the issuer until it expires.`))

const browserLogin = (ctx: AppContext, options: ChatGptLoginOptions, mode: BrowserLogin.Mode) =>
  Effect.scoped(Effect.gen(function*() {
    const config = yield* OAuthConfig.OAuthConfig
    const policy = yield* AuthPolicy.AuthPolicy
    const lines = mode === "paste" ? yield* stdinLines : undefined
    const minutes = Duration.toMillis(options.timeout)
    const result = yield* BrowserLogin.run(
      {
        onAuthorizeUrl: (info) =>
          Effect.gen(function*() {
            if (info.listenFailure !== undefined) {
              yield* stderr(`note: ${SafeText.escape(info.listenFailure.detail)} Only paste-back will work.`)
            }
            yield* stderr(mode === "paste"
              ? "Sign in with ChatGPT: open this URL in any browser (on any machine):"
              : "Sign in with ChatGPT: open this URL in a browser on this machine:")
            yield* stderr(`\n  ${SafeText.escape(info.url)}\n`)
            if (mode === "paste") {
              yield* stderr([
                `After you sign in, the browser is sent to http://localhost:${info.port ?? 1455}/auth/callback?code=…`,
                "(the page may fail to load on another machine). Copy the whole address from the address bar and paste it here."
              ].join("\n"))
            } else {
              const hint = info.port !== undefined ? sshHint(info.port) ?? wslHint() : undefined
              if (hint !== undefined) yield* stderr(hint)
              else if (mode === "print") yield* stderr("On another machine? Use `codex-auth login --paste` or `codex-auth login --device-auth`.")
            }
            if (mode === "browser") yield* stderr("Opening your browser…")
            yield* stderr(`Waiting for the sign-in (up to ${formatWait(minutes)}; Ctrl-C to cancel)…`)
            if (mode === "paste") yield* stderr("Paste the redirect URL:")
          }),
        openBrowser: (url) => Browser.open(url),
        onBrowserOpened: (opened) => (opened ? Effect.void : stderr("Could not open a browser here; open the URL above yourself.")),
        ...(lines === undefined ? {} : { readPaste: lines.read }),
        onPasteProblem: (message, left) => stderr(`${SafeText.escape(message)}\nPaste the redirect URL (${left} ${left === 1 ? "try" : "tries"} left):`),
        onCodeReceived: (via) => stderr(via === "paste" ? "Got the code. Signing in…" : "Browser sign-in received. Signing in…")
      },
      {
        mode,
        timeout: options.timeout,
        allowedWorkspaceId: Policy.allowedWorkspaceParam(policy),
        lock: LoginLock.acquire(LoginLock.lockPathFor(ctx.codexHome.path))
      },
      (signedIn) =>
        Persist.persist({
          tokens: signedIn.tokens,
          apiKey: signedIn.apiKey,
          provenance: { issuer: config.issuer, clientId: config.clientId }
        })
    )
    yield* stderr(describeStore(result))
    yield* reportSuperseded(result.superseded)
  }))

const formatWait = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`)

const deviceLogin = () =>
  Effect.gen(function*() {
    const config = yield* OAuthConfig.OAuthConfig
    let countdown: Fiber.Fiber<void> | undefined
    const stopCountdown = Effect.suspend(() => (countdown === undefined ? Effect.void : Fiber.interrupt(countdown))).pipe(Effect.andThen(clearLine))
    const tokens = yield* DeviceCode.run({
      onCodeIssued: (code) =>
        Effect.gen(function*() {
          const minutes = Math.max(1, Math.round((code.expiresAt.getTime() - Date.now()) / 60_000))
          yield* stderr([
            "Sign in with a device code:",
            `  1. Open ${SafeText.escape(code.verificationUrl)} in a browser (on any device)`,
            `  2. Enter this one-time code (expires in ${minutes} minute${minutes === 1 ? "" : "s"}):`,
            "",
            `       ${SafeText.escape(code.userCode)}`,
            "",
            "Device codes are a common phishing target. Never share this code, and continue only if you started this login yourself.",
            ""
          ].join("\n"))
          const tick = isTty()
            ? Effect.sync(() => process.stderr.write(`\r\u001b[2KWaiting for approval… ${mmss(code.expiresAt.getTime() - Date.now())} left (Ctrl-C to cancel)`)).pipe(
              Effect.andThen(Effect.sleep("1 second")),
              Effect.forever
            )
            : Effect.suspend(() => stderr(`Waiting for approval (${Math.max(0, Math.ceil((code.expiresAt.getTime() - Date.now()) / 60_000))} min left)…`)).pipe(
              Effect.andThen(Effect.sleep("1 minute")),
              Effect.forever
            )
          countdown = yield* Effect.forkDetach(tick)
        }),
      onRetrying: (info) => say(SafeText.escape(`The issuer did not answer normally (${info.detail}); trying again in ${Math.ceil(info.delayMs / 1000)} s.`)),
      onApproved: () => Effect.andThen(stopCountdown, stderr("Approved. Signing in…"))
    }).pipe(Effect.ensuring(stopCountdown))
    return yield* Persist.persist({ tokens, provenance: { issuer: config.issuer, clientId: config.clientId } })
  }).pipe(
    Effect.flatMap((result) => Effect.andThen(stderr(describeStore(result)), reportSuperseded(result.superseded)))
  )

/** Runs a ChatGPT sign-in with the base layer (store, policy) and the OAuth services. */
export const loginChatGpt = (ctx: AppContext, options: ChatGptLoginOptions) =>
  Effect.gen(function*() {
    const policy = yield* AuthPolicy.AuthPolicy
    yield* policy.checkLogin(options.method === "device" ? "device" : "chatgpt")
    if (options.method === "device") return yield* deviceLogin()
    return yield* browserLogin(ctx, options, options.method)
  }).pipe(Effect.provide(Layer.fresh(Layer.merge(baseLayer(ctx), oauthLayer(options)))))

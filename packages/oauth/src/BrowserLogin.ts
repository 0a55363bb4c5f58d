/**
 * Sign in with ChatGPT in a browser: PKCE S256, a loopback callback on `localhost:1455` (else
 * 1457) bound on both loopback addresses before the browser opens, and optionally paste-back,
 * where the user signs in in any browser and pastes the final redirect URL (or just its
 * `code=…&state=…`) into the terminal.
 *
 * **Details**
 *
 * - One login at a time per CODEX_HOME (`LoginLock`); no HTTP control endpoint.
 * - The callback server answers stray requests, wrong `state`s and other paths and keeps
 *   waiting; only this login's state can end the flow (with a code, or with the issuer's error).
 * - The browser's callback request is held open while the code is exchanged and the caller's
 *   `finish` (policy check, store) runs, and then answered with a page saying what really
 *   happened. No token is ever put in a URL or a page.
 * - In paste mode the callback server still listens when it can (a local browser then finishes
 *   the flow by itself); when the ports are taken, paste alone is used. A paste that is not this
 *   login's redirect is explained and asked for again, a bounded number of times.
 * - The whole wait is bounded by `timeout` (default 10 minutes).
 *
 * @since 0.1.0
 */
import { Jwt, type Errors } from "@codex-auth/core"
import { Deferred, Duration, Effect, Exit, type Option, Redacted, Result, type Scope } from "effect"
import type { HttpClient } from "effect/http"
import { authorizeUrl, CALLBACK_PORTS, decodePaste, describePasteProblem, loopbackRedirectUri } from "./Authorize.ts"
import * as Callback from "./Callback.ts"
import * as LoginError from "./LoginError.ts"
import * as LoopbackServer from "./LoopbackServer.ts"
import { OAuthConfig } from "./OAuthConfig.ts"
import * as Pages from "./Pages.ts"
import { generatePkce, generateState } from "./Pkce.ts"
import { exchangeCode, exchangeForApiKey, type TokenSet } from "./TokenEndpoint.ts"

export type Mode =
  /** Open the system browser, wait for the callback. */
  | "browser"
  /** Print the URL only (`--no-browser`), wait for the callback. */
  | "print"
  /** Print the URL, accept the callback or a pasted redirect (`--paste`). */
  | "paste"

export interface BrowserLoginOptions {
  readonly mode: Mode
  /** Overall limit (default 10 minutes). */
  readonly timeout?: Duration.Input
  /** Callback ports to try, in order (default 1455, 1457; 0 = any free port, for tests). */
  readonly ports?: ReadonlyArray<number>
  /** `allowed_workspace_id` from policy. */
  readonly allowedWorkspaceId?: string | undefined
  /**
   * Held for the whole sign-in (one at a time per CODEX_HOME): the CLI passes storage's
   * `LoginLock.acquire(LoginLock.lockPathFor(codexHome))`; no lock when absent.
   */
  readonly lock?: Effect.Effect<void, Errors.LoginFailed | Errors.StorageError, Scope.Scope> | undefined
  /** Exchange the ID token for an API key after sign-in, as Codex does (default true). */
  readonly requestApiKey?: boolean
  /** Pasted values accepted before giving up (default 5). */
  readonly maxPasteAttempts?: number
}

export interface AuthorizeInfo {
  readonly url: string
  readonly redirectUri: string
  /** The loopback port listening, when one is. */
  readonly port: number | undefined
  readonly listening: boolean
  /** Why nothing listens (paste mode with the ports taken). */
  readonly listenFailure: Errors.LoginFailed | undefined
}

export interface BrowserLoginHooks {
  /** Shows the URL (and hints). Called once the callback server listens. */
  readonly onAuthorizeUrl: (info: AuthorizeInfo) => Effect.Effect<void>
  /** Opens a browser on the URL in `browser` mode; `false` when none could be opened. */
  readonly openBrowser?: (url: string) => Effect.Effect<boolean>
  /** Called after `openBrowser` with its result. */
  readonly onBrowserOpened?: (opened: boolean) => Effect.Effect<void>
  /** Reads one pasted line; `None` at end of input. Needed in `paste` mode. */
  readonly readPaste?: Effect.Effect<Option.Option<string>>
  /** A pasted value was unusable; `attemptsLeft` more are accepted. */
  readonly onPasteProblem?: (message: string, attemptsLeft: number) => Effect.Effect<void>
  /** A request reached the callback server and was answered and ignored. */
  readonly onIgnoredRequest?: (reason: Callback.IgnoreReason) => Effect.Effect<void>
  /** The code arrived; the exchange follows. */
  readonly onCodeReceived?: (via: "callback" | "paste") => Effect.Effect<void>
}

export interface SignedIn {
  readonly tokens: TokenSet
  /** From the token exchange, when the issuer gave one. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** Why no API key was obtained, when `requestApiKey` was on. */
  readonly apiKeyError: string | undefined
  readonly redirectUri: string
  readonly via: "callback" | "paste"
}

interface Received {
  readonly code: Redacted.Redacted<string>
  readonly via: "callback" | "paste"
}

const failurePage = (error: unknown): Pages.Page => {
  const e = error as Partial<Errors.UserFacing>
  return typeof e.userMessage === "string"
    ? Pages.failure(e.userMessage, e.hint)
    : Pages.failure("Sign-in failed: an unexpected error happened.", "Return to your terminal for details.")
}

const pasteLoop = (
  hooks: BrowserLoginHooks,
  state: Redacted.Redacted<string>,
  maxAttempts: number,
  serverListening: boolean
): Effect.Effect<Received, Errors.LoginFailed> =>
  Effect.gen(function*() {
    const read = hooks.readPaste
    if (read === undefined) return yield* Effect.never
    let attempts = 0
    while (true) {
      const line = yield* read
      if (line._tag === "None") {
        if (serverListening) return yield* Effect.never
        return yield* LoginError.noInput()
      }
      const outcome = decodePaste(line.value, state)
      if (outcome._tag === "Code") return { code: outcome.code, via: "paste" as const }
      if (outcome._tag === "Denied") return yield* outcome.failure
      if (outcome.problem === "empty") continue
      attempts++
      if (attempts >= maxAttempts) return yield* LoginError.pasteInvalid(attempts)
      if (hooks.onPasteProblem) yield* hooks.onPasteProblem(describePasteProblem(outcome.problem), maxAttempts - attempts)
    }
  })

/**
 * Runs the browser sign-in up to the stored credentials: `finish` receives the tokens (store
 * them there) while the browser waits for its page.
 */
export const run = <A, E, R>(
  hooks: BrowserLoginHooks,
  options: BrowserLoginOptions,
  finish: (signedIn: SignedIn) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | Errors.LoginFailed | Errors.NetworkError | Errors.StorageError, R | HttpClient.HttpClient | OAuthConfig> =>
  Effect.scoped(
    Effect.gen(function*() {
      const config = yield* OAuthConfig
      if (options.lock !== undefined) yield* options.lock
      const pkce = generatePkce()
      const state = generateState()
      const ports = options.ports ?? CALLBACK_PORTS
      const timeoutMs = Duration.toMillis(Duration.fromInputUnsafe(options.timeout ?? Duration.minutes(10)))

      const received = yield* Deferred.make<Received, Errors.LoginFailed>()
      // Settled with the page the held callback request gets once the flow ends.
      let settlePage: (page: Pages.Page) => void = () => {}
      const pagePromise = new Promise<Pages.Page>((resolve) => (settlePage = resolve))
      let accepted = false
      let listenPort = 0

      const handler: LoopbackServer.Handler = (request) => {
        const r = Callback.route(request, { port: listenPort, state })
        switch (r._tag) {
          case "Ignore":
            if (hooks.onIgnoredRequest) Effect.runFork(hooks.onIgnoredRequest(r.reason))
            return r.page
          case "Denied":
            if (accepted) return Pages.alreadyHandled()
            accepted = true
            Deferred.doneUnsafe(received, Exit.fail(r.failure))
            return Pages.failure(r.failure.userMessage, r.failure.hint)
          case "Code":
            if (accepted) return Pages.alreadyHandled()
            accepted = true
            Deferred.doneUnsafe(received, Exit.succeed({ code: r.code, via: "callback" }))
            return pagePromise
        }
      }

      const server = yield* LoopbackServer.listen(ports, handler).pipe(
        Effect.map((s) => Result.succeed(s) as Result.Result<LoopbackServer.LoopbackServer, Errors.LoginFailed>),
        Effect.catch((failure) => options.mode === "paste" ? Effect.succeed(Result.fail(failure)) : Effect.fail(failure))
      )
      // Whatever ends the flow, a browser still waiting gets an answer before the server closes.
      yield* Effect.addFinalizer(() => Effect.sync(() => settlePage(Pages.cancelled())))
      const listening = Result.isSuccess(server)
      if (listening) listenPort = server.success.port
      const redirectUri = loopbackRedirectUri(listening ? server.success.port : (ports.find((p) => p !== 0) ?? CALLBACK_PORTS[0]!))

      const url = authorizeUrl({
        issuer: config.issuer,
        clientId: config.clientId,
        redirectUri,
        codeChallenge: pkce.challenge,
        state,
        originator: config.originator,
        allowedWorkspaceId: options.allowedWorkspaceId
      })
      yield* hooks.onAuthorizeUrl({
        url,
        redirectUri,
        port: listening ? server.success.port : undefined,
        listening,
        listenFailure: Result.isFailure(server) ? server.failure : undefined
      })
      if (options.mode === "browser" && hooks.openBrowser !== undefined) {
        // Not awaited: a browser that stays in the foreground must not hold up the callback.
        const open = hooks.openBrowser
        yield* Effect.forkScoped(Effect.flatMap(open(url), (opened) => hooks.onBrowserOpened ? hooks.onBrowserOpened(opened) : Effect.void))
      }

      const fromCallback = listening ? Deferred.await(received) : Effect.never
      const fromPaste = options.mode === "paste" ? pasteLoop(hooks, state, options.maxPasteAttempts ?? 5, listening) : Effect.never
      const got = yield* Effect.raceFirst(fromCallback, fromPaste).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () => Effect.fail(LoginError.timeout(timeoutMs, options.mode !== "paste"))
        })
      )
      accepted = true
      if (hooks.onCodeReceived) yield* hooks.onCodeReceived(got.via)

      const outcome = yield* Effect.exit(
        Effect.gen(function*() {
          const tokens = yield* exchangeCode(config, { code: got.code, codeVerifier: pkce.verifier, redirectUri })
          let apiKey: Redacted.Redacted<string> | undefined
          let apiKeyError: string | undefined
          if (options.requestApiKey !== false) {
            const key = yield* exchangeForApiKey(config, tokens.idToken)
            if (Result.isSuccess(key)) apiKey = key.success
            else apiKeyError = key.failure
          }
          return yield* finish({ tokens, apiKey, apiKeyError, redirectUri, via: got.via }).pipe(
            Effect.map((value) => ({ value, email: Result.getOrUndefined(Jwt.parseClaims(Redacted.value(tokens.idToken)))?.email }))
          )
        })
      )
      if (Exit.isSuccess(outcome)) {
        settlePage(Pages.success({ email: outcome.value.email }))
        return outcome.value.value
      }
      const squashed = outcome.cause.reasons.find((r) => r._tag === "Fail")
      settlePage(squashed !== undefined && squashed._tag === "Fail" ? failurePage(squashed.error) : Pages.cancelled())
      return yield* Effect.failCause(outcome.cause)
    })
  )

/**
 * Device-code sign-in with Codex's own protocol (not RFC 8628), as the Codex CLI speaks it:
 *
 * 1. `POST {issuer}/api/accounts/deviceauth/usercode` with JSON `{client_id}` →
 *    `{device_auth_id, user_code, interval}` (`interval` may be a string). HTTP 404 means device
 *    sign-in is not enabled: fail at once, naming the other ways to sign in.
 * 2. The user opens `{issuer}/codex/device` and types the code.
 * 3. `POST {issuer}/api/accounts/deviceauth/token` with JSON `{device_auth_id, user_code}` every
 *    `interval`: 403/404 = still pending; 200 → `{authorization_code, code_challenge,
 *    code_verifier}`.
 * 4. The code is exchanged at `/oauth/token` with `redirect_uri={issuer}/deviceauth/callback`
 *    and that verifier.
 *
 * Better than Codex where its users complain: 429, 5xx, malformed answers and transport errors
 * back off (capped exponential, honouring `Retry-After`) instead of aborting the sign-in, and
 * the flow never gives up before the deadline (15 minutes, or the issuer's `expires_at` if
 * sooner). An RFC 8628 style `slow_down` adds 5 s to the interval. A 404 that says
 * `device_login_disabled` ends the wait at once instead of polling for 15 minutes.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Clock, Duration, Effect, Redacted, Result } from "effect"
import { type HttpClient, HttpClientRequest } from "effect/http"
import { errorCode, jsonObject, send, targetOf } from "./internal/http.ts"
import * as LoginError from "./LoginError.ts"
import { OAuthConfig, type OAuthClientConfig } from "./OAuthConfig.ts"
import { exchangeCode, type TokenSet } from "./TokenEndpoint.ts"

/** Codex waits 15 minutes at most. */
export const MAX_WAIT_MS = 15 * 60 * 1000
/** Interval when the issuer sends none or an unusable one (RFC 8628 §3.2 default). */
export const DEFAULT_INTERVAL_MS = 5000

export const userCodeUrl = (issuer: string) => `${issuer}/api/accounts/deviceauth/usercode`
export const pollUrl = (issuer: string) => `${issuer}/api/accounts/deviceauth/token`
/** Where the user types the code. */
export const verificationUrl = (issuer: string) => `${issuer}/codex/device`
/** The redirect URI the device flow's code is bound to. */
export const deviceRedirectUri = (issuer: string) => `${issuer}/deviceauth/callback`

/** An issued device code. */
export interface DeviceCode {
  readonly deviceAuthId: Redacted.Redacted<string>
  readonly userCode: string
  readonly intervalMs: number
  readonly verificationUrl: string
  /** When the wait ends: the issuer's `expires_at`, capped at 15 minutes from issue. */
  readonly expiresAt: Date
}

const jsonPost = (config: OAuthClientConfig, url: string, body: Record<string, string>) =>
  HttpClientRequest.post(url).pipe(
    HttpClientRequest.setHeaders({ originator: config.originator, "user-agent": config.userAgent, accept: "application/json" }),
    HttpClientRequest.bodyJsonUnsafe(body)
  )

/** Step 1: the user-code request. */
export const userCodeRequest = (config: OAuthClientConfig): HttpClientRequest.HttpClientRequest =>
  jsonPost(config, userCodeUrl(config.issuer), { client_id: config.clientId })

const parseInterval = (u: unknown): number | undefined => {
  const n = typeof u === "number" ? u : typeof u === "string" && u.trim().length > 0 ? Number(u.trim()) : Number.NaN
  return Number.isFinite(n) && n >= 0 && n <= 300 ? Math.round(n * 1000) : undefined
}

/** What a user code looks like (`ABCD-1234`): anything else is never shown or sent back. */
export const isUserCode = (code: string): boolean => /^[A-Za-z0-9-]{4,32}$/.test(code)

const notADeviceIssuer =
  "This answer did not come from a working device sign-in endpoint: check that --issuer (or CODEX_AUTH_ISSUER) is your real issuer, then run `codex-auth login --device-auth` again; or sign in another way: `codex-auth login` (browser) or `codex-auth login --paste`."

/** Step 1: decodes the user-code answer (`nowMs` for `expiresAt`). */
export const decodeUserCodeResponse = (
  config: OAuthClientConfig,
  status: number,
  body: string,
  nowMs: number
): Result.Result<DeviceCode, Errors.LoginFailed | Errors.NetworkError> => {
  const target = targetOf("POST", userCodeUrl(config.issuer))
  if (status === 404) return Result.fail(LoginError.deviceAuthDisabled())
  if (status === 429 || status >= 500) {
    return Result.fail(new Errors.NetworkError({ target, detail: `the issuer answered HTTP ${status}`, suggestion: "The issuer is busy or unavailable; try again in a moment." }))
  }
  if (status < 200 || status >= 300) {
    const code = errorCode(body)
    if (code === "invalid_client" || status === 401) return Result.fail(LoginError.invalidClient(config.clientId))
    return Result.fail(LoginError.deviceAuthFailed(status, code))
  }
  const map = jsonObject(body)
  const deviceAuthId = map?.["device_auth_id"]
  const userCode = map?.["user_code"] ?? map?.["usercode"]
  if (typeof deviceAuthId !== "string" || deviceAuthId.length === 0 || typeof userCode !== "string" || userCode.length === 0) {
    return Result.fail(new Errors.NetworkError({ target, detail: "the issuer's answer has no device_auth_id or user_code", suggestion: notADeviceIssuer }))
  }
  if (!isUserCode(userCode)) {
    return Result.fail(new Errors.NetworkError({
      target,
      detail: `the issuer's user_code is not a device code (expected 4 to 32 letters, digits and dashes; got ${userCode.length} characters, not shown)`,
      suggestion: notADeviceIssuer
    }))
  }
  const cap = nowMs + MAX_WAIT_MS
  const issuerExpiry = typeof map?.["expires_at"] === "string" ? Date.parse(map["expires_at"]) : Number.NaN
  const expiresAt = Number.isFinite(issuerExpiry) && issuerExpiry > nowMs ? Math.min(issuerExpiry, cap) : cap
  return Result.succeed({
    deviceAuthId: Redacted.make(deviceAuthId),
    userCode,
    intervalMs: parseInterval(map?.["interval"]) ?? DEFAULT_INTERVAL_MS,
    verificationUrl: verificationUrl(config.issuer),
    expiresAt: new Date(expiresAt)
  })
}

/** Step 3: one poll. */
export const pollRequest = (config: OAuthClientConfig, code: DeviceCode): HttpClientRequest.HttpClientRequest =>
  jsonPost(config, pollUrl(config.issuer), { device_auth_id: Redacted.value(code.deviceAuthId), user_code: code.userCode })

export type PollOutcome =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "SlowDown" }
  | { readonly _tag: "Approved"; readonly authorizationCode: Redacted.Redacted<string>; readonly codeVerifier: Redacted.Redacted<string> }
  /** Worth retrying after a back-off: 429, 5xx, a malformed 200. */
  | { readonly _tag: "Transient"; readonly detail: string; readonly retryAfterMs: number | undefined }
  | { readonly _tag: "Failed"; readonly failure: Errors.LoginFailed }

/** Step 3: decodes one poll answer. */
export const decodePollResponse = (status: number, body: string, retryAfterMs?: number): PollOutcome => {
  if (status >= 200 && status < 300) {
    const map = jsonObject(body)
    const code = map?.["authorization_code"]
    const verifier = map?.["code_verifier"]
    if (typeof code !== "string" || code.length === 0 || typeof verifier !== "string" || verifier.length === 0) {
      return { _tag: "Transient", detail: "the issuer's approval answer was incomplete", retryAfterMs }
    }
    return { _tag: "Approved", authorizationCode: Redacted.make(code), codeVerifier: Redacted.make(verifier) }
  }
  // Pending is the answer of almost every poll: decided before the body is parsed.
  if (status === 403) return { _tag: "Pending" }
  const code = errorCode(body)
  if (status === 404) {
    return code === "device_login_disabled" ? { _tag: "Failed", failure: LoginError.deviceAuthDisabled() } : { _tag: "Pending" }
  }
  if (status === 429 || status >= 500) return { _tag: "Transient", detail: `the issuer answered HTTP ${status}`, retryAfterMs }
  switch (code) {
    case "authorization_pending":
      return { _tag: "Pending" }
    case "slow_down":
      return { _tag: "SlowDown" }
    case "access_denied":
      return { _tag: "Failed", failure: LoginError.accessDenied() }
    case "expired_token":
      return { _tag: "Failed", failure: LoginError.deviceCodeExpired() }
    default:
      return { _tag: "Failed", failure: LoginError.deviceAuthFailed(status, code) }
  }
}

export interface DeviceFlowHooks {
  /** The code to show: URL, user code, expiry (print it with the phishing warning). */
  readonly onCodeIssued: (code: DeviceCode) => Effect.Effect<void>
  /** After each poll that says "not yet". */
  readonly onWaiting?: (info: { readonly remainingMs: number; readonly polls: number }) => Effect.Effect<void>
  /** A poll failed transiently; the next one waits `delayMs`. */
  readonly onRetrying?: (info: { readonly detail: string; readonly delayMs: number; readonly failures: number }) => Effect.Effect<void>
  /** The user approved; the code exchange follows. */
  readonly onApproved?: () => Effect.Effect<void>
}

export interface DeviceFlowOptions {
  /** Upper bound of the wait (default 15 minutes). */
  readonly maxWait?: Duration.Input
  /** First back-off delay after a transient failure (default 2 s; at least the interval). */
  readonly backoffInitial?: Duration.Input
  /** Largest back-off delay (default 60 s). */
  readonly backoffMax?: Duration.Input
  /** Lower bound of the poll interval, whatever the issuer says (default 1 s). */
  readonly minInterval?: Duration.Input
  /** Time limit of each request (default 30 s). */
  readonly requestTimeout?: Duration.Input
}

const ms = (input: Duration.Input | undefined, fallback: number) =>
  input === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(input))

/** Step 1 with up to three attempts on transient failures (a user code is cheap to reissue). */
export const requestDeviceCode = (
  options: DeviceFlowOptions = {}
): Effect.Effect<DeviceCode, Errors.LoginFailed | Errors.NetworkError, HttpClient.HttpClient | OAuthConfig> =>
  Effect.gen(function*() {
    const config = yield* OAuthConfig
    const timeout = ms(options.requestTimeout, 30_000)
    const initial = ms(options.backoffInitial, 2000)
    let attempt = 0
    while (true) {
      attempt++
      const answer = yield* Effect.result(send(userCodeRequest(config), timeout))
      const now = yield* Clock.currentTimeMillis
      const result = Result.isFailure(answer)
        ? Result.fail<Errors.LoginFailed | Errors.NetworkError>(answer.failure)
        : decodeUserCodeResponse(config, answer.success.status, answer.success.body, now)
      if (Result.isSuccess(result)) return result.success
      if (result.failure._tag === "LoginFailed" || result.failure.permanent === true || attempt >= 3) return yield* result.failure
      yield* Effect.sleep(Duration.millis(initial * 2 ** (attempt - 1)))
    }
  }).pipe(Effect.withSpan("DeviceCode.requestDeviceCode"))

/**
 * Steps 2–3: polls until approved, denied, or the deadline; transient failures back off and
 * never end the wait early.
 */
export const pollUntilApproved = (
  code: DeviceCode,
  hooks: Omit<DeviceFlowHooks, "onCodeIssued">,
  options: DeviceFlowOptions = {}
): Effect.Effect<Extract<PollOutcome, { _tag: "Approved" }>, Errors.LoginFailed | Errors.NetworkError, HttpClient.HttpClient | OAuthConfig> =>
  Effect.gen(function*() {
    const config = yield* OAuthConfig
    const start = yield* Clock.currentTimeMillis
    const deadline = Math.min(code.expiresAt.getTime(), start + ms(options.maxWait, MAX_WAIT_MS))
    const maxDelay = ms(options.backoffMax, 60_000)
    const requestTimeout = ms(options.requestTimeout, 30_000)
    let interval = Math.min(Math.max(code.intervalMs, ms(options.minInterval, 1000)), maxDelay)
    const initial = Math.max(interval, ms(options.backoffInitial, 2000))
    let failures = 0
    // The wait before the next poll: the interval, or after transient failures the back-off.
    let delay = interval
    let polls = 0
    while (true) {
      const now = yield* Clock.currentTimeMillis
      const remaining = deadline - now
      if (remaining <= 0) return yield* LoginError.deviceCodeExpired(deadline - start)
      yield* Effect.sleep(Duration.millis(Math.min(delay, remaining)))
      if ((yield* Clock.currentTimeMillis) >= deadline) return yield* LoginError.deviceCodeExpired(deadline - start)
      polls++
      const answer = yield* Effect.result(send(pollRequest(config, code), Math.min(requestTimeout, Math.max(1000, deadline - now))))
      if (Result.isFailure(answer) && answer.failure.permanent === true) return yield* answer.failure
      const outcome: PollOutcome = Result.isFailure(answer)
        ? { _tag: "Transient", detail: answer.failure.detail, retryAfterMs: undefined }
        : decodePollResponse(answer.success.status, answer.success.body, answer.success.retryAfterMs)
      switch (outcome._tag) {
        case "Approved":
          if (hooks.onApproved) yield* hooks.onApproved()
          return outcome
        case "Failed":
          return yield* outcome.failure
        case "SlowDown":
          interval = Math.min(interval + 5000, maxDelay)
          failures = 0
          delay = interval
          break
        case "Pending":
          failures = 0
          delay = interval
          if (hooks.onWaiting) yield* hooks.onWaiting({ remainingMs: Math.max(0, deadline - (yield* Clock.currentTimeMillis)), polls })
          break
        case "Transient": {
          failures++
          const retryAfter = Math.min(outcome.retryAfterMs ?? 0, 5 * 60_000)
          delay = Math.max(Math.min(initial * 2 ** (failures - 1), maxDelay), retryAfter)
          if (hooks.onRetrying) yield* hooks.onRetrying({ detail: outcome.detail, delayMs: delay, failures })
          break
        }
      }
    }
  }).pipe(Effect.withSpan("DeviceCode.pollUntilApproved"))

/**
 * The whole device flow: issue a code, show it, wait for approval, exchange the code. Returns
 * the tokens; storing them is the caller's (see `Persist`).
 */
export const run = (
  hooks: DeviceFlowHooks,
  options: DeviceFlowOptions = {}
): Effect.Effect<TokenSet, Errors.LoginFailed | Errors.NetworkError, HttpClient.HttpClient | OAuthConfig> =>
  Effect.gen(function*() {
    const config = yield* OAuthConfig
    const code = yield* requestDeviceCode(options)
    yield* hooks.onCodeIssued(code)
    const approved = yield* pollUntilApproved(code, hooks, options)
    return yield* exchangeCode(config, {
      code: approved.authorizationCode,
      codeVerifier: approved.codeVerifier,
      redirectUri: deviceRedirectUri(config.issuer)
    }, options.requestTimeout === undefined ? {} : { timeout: options.requestTimeout })
  }).pipe(Effect.withSpan("DeviceCode.run"))

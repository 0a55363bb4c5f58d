/**
 * The core `RefreshTransport` port over `effect/http`: token refresh against `{issuer}/oauth/token`
 * and RFC 7009 revocation against `{issuer}/oauth/revoke`, with the wire format the Codex CLI uses.
 *
 * **Details**
 *
 * - Refresh is exactly one `POST` with the JSON body Codex sends
 *   (`client_id`, `grant_type: "refresh_token"`, `refresh_reason`, `refresh_token`) and the
 *   `originator` / `user-agent` headers. It is never retried here: refresh tokens rotate, and a
 *   replayed token revokes the whole grant (`refresh_token_reused`). Callers (the AuthManager)
 *   re-read storage instead of retrying.
 * - `CODEX_REFRESH_TOKEN_URL_OVERRIDE` / `CODEX_REVOKE_TOKEN_URL_OVERRIDE` (read through `Config`
 *   when the layer is built) replace the whole endpoint URL, as in the Codex CLI; otherwise the request's issuer (from `oauth_provenance`, or
 *   `https://auth.openai.com`) is used.
 * - Classification follows codex-rs `classify_refresh_token_failure`: the error code is read from
 *   `{"error": {"code": "…"}}`, `{"error": "…"}` or `{"code": "…"}`. HTTP 401, or the codes
 *   `refresh_token_expired`, `refresh_token_reused`, `refresh_token_invalidated` (any status), are
 *   permanent → `ReauthRequired`. Everything else (5xx, 429, other 4xx, transport errors,
 *   timeouts, malformed JSON) is transient → `NetworkError`.
 *
 * **Gotchas**
 *
 * Answers are read through the shared `send` (1 MiB cap, time limit, explained transport errors).
 * A timeout or a malformed 200 answer is ambiguous: the issuer may have rotated the token anyway.
 * The error says so, and what the next run does: it sends the stored refresh token once more,
 * which works unless the issuer did rotate it (then, outside the issuer's reuse grace window, the
 * session has ended). A 200 holding a token with control characters or whitespace is malformed:
 * nothing of it is returned (so nothing is stored).
 *
 * @since 0.1.0
 */
import { Errors, RefreshTransport as Port } from "@codex-auth/core"
import { errorCode, jsonObject, malformedToken, send, targetOf } from "./internal/http.ts"
import { sanitize } from "./LoginError.ts"
import { DEFAULT_ORIGINATOR, defaultUserAgent } from "./OAuthConfig.ts"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"

export const REFRESH_URL_OVERRIDE_ENV = "CODEX_REFRESH_TOKEN_URL_OVERRIDE"
export const REVOKE_URL_OVERRIDE_ENV = Port.REVOKE_URL_OVERRIDE_ENV

/** Error codes that mean the refresh token is dead for good. */
export const PERMANENT_CODES: ReadonlySet<string> = new Set([
  "refresh_token_expired",
  "refresh_token_reused",
  "refresh_token_invalidated"
])

export interface RefreshTransportOptions {
  /** `originator` header; default `codex_cli_rs`, as the Codex CLI sends. */
  readonly originator?: string
  /** `user-agent` header; default `codex-auth/<version> (<platform>; <arch>) node/<version>`. */
  readonly userAgent?: string
  /** Time limit of one refresh POST (default 30 s). */
  readonly refreshTimeout?: Duration.Input
  /** Time limit of one revoke POST (default 10 s, as Codex). */
  readonly revokeTimeout?: Duration.Input
}

const trimSlash = (s: string) => s.replace(/\/+$/, "")

const envUrl = (name: string): Effect.Effect<string | undefined> =>
  Effect.map(Config.option(Config.String(name)), (o) => {
    if (Option.isNone(o)) return undefined
    const v = o.value.trim()
    return v.length > 0 ? v : undefined
  }).pipe(Effect.orElseSucceed(() => undefined))

/**
 * The issuer error code of an error body, as codex-rs `extract_refresh_token_error_code` reads
 * it: `error.code` (object form), `error` (string form), else a top-level `code`. Lower-cased.
 */
export const extractErrorCode = (body: string): string | undefined => errorCode(body)?.toLowerCase()

/** Classifies a non-2xx refresh answer: `ReauthRequired` (permanent) or `NetworkError` (transient). */
export const classifyFailure = (
  status: number,
  body: string,
  target: string
): Errors.ReauthRequired | Errors.NetworkError => {
  const code = extractErrorCode(body)
  if (code !== undefined && PERMANENT_CODES.has(code)) return new Errors.ReauthRequired({ reason: code })
  if (status === 401) return new Errors.ReauthRequired({ reason: "http_401" })
  const shown = sanitize(code, 80)
  return new Errors.NetworkError({
    target,
    detail: `the issuer answered HTTP ${status}${shown !== undefined ? ` (${shown})` : ""}`,
    suggestion: status === 429 || status >= 500
      ? "The issuer is busy or unavailable; codex-auth keeps the current token and tries again later."
      : "Check the issuer URL (CODEX_REFRESH_TOKEN_URL_OVERRIDE, oauth_provenance in auth.json); if this persists, sign in again with `codex-auth login`."
  })
}

/** The tokens of a 200 answer; `undefined` when it is not a token response, a string when a token is malformed. */
const parseTokens = (body: string): Port.RefreshedTokens | undefined | string => {
  const map = jsonObject(body)
  if (map === undefined) return undefined
  const malformed = malformedToken(map, ["id_token", "access_token", "refresh_token"])
  if (malformed !== undefined) return malformed
  const field = (k: string): Redacted.Redacted<string> | undefined | null => {
    const v = map[k]
    if (v === undefined || v === null) return undefined
    return typeof v === "string" && v.length > 0 ? Redacted.make(v) : null
  }
  const idToken = field("id_token")
  const accessToken = field("access_token")
  const refreshToken = field("refresh_token")
  if (idToken === null || accessToken === null || refreshToken === null) return undefined
  return { idToken, accessToken, refreshToken }
}

/** Builds the transport over the `HttpClient` in context. */
export const make = (options: RefreshTransportOptions = {}) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const originator = options.originator ?? DEFAULT_ORIGINATOR
    const userAgent = options.userAgent ?? defaultUserAgent()
    const refreshTimeout = Duration.fromInputUnsafe(options.refreshTimeout ?? "30 seconds")
    const revokeTimeout = Duration.fromInputUnsafe(options.revokeTimeout ?? "10 seconds")
    const refreshOverride = yield* envUrl(REFRESH_URL_OVERRIDE_ENV)
    const revokeOverride = yield* envUrl(REVOKE_URL_OVERRIDE_ENV)

    const post = (url: string, body: Record<string, string>) =>
      HttpClientRequest.post(url).pipe(
        HttpClientRequest.setHeaders({ originator, "user-agent": userAgent, accept: "application/json" }),
        HttpClientRequest.bodyJsonUnsafe(body)
      )

    const refresh = Effect.fn("RefreshTransport.refresh")(function*(request: Port.RefreshRequest) {
      const url = refreshOverride ?? `${trimSlash(request.issuer)}/oauth/token`
      const target = targetOf("POST", url)
      const nextRun = "Run the command again: it sends the stored refresh token once more, which works unless the issuer did rotate it; if it then says your session has ended, sign in again with `codex-auth login`."
      const ambiguous = `Nothing was saved, and the issuer may already have rotated the refresh token. ${nextRun}`
      const answer = yield* send(
        post(url, {
          client_id: request.clientId,
          grant_type: "refresh_token",
          refresh_reason: request.reason,
          refresh_token: Redacted.value(request.refreshToken)
        }),
        refreshTimeout,
        { timeoutSuggestion: ambiguous }
      ).pipe(Effect.provideService(HttpClient.HttpClient, client))
      if (answer.status >= 200 && answer.status < 300) {
        const tokens = parseTokens(answer.body)
        if (tokens === undefined) {
          return yield* new Errors.NetworkError({ target, detail: "the issuer answered 200 with a malformed token response", suggestion: ambiguous })
        }
        if (typeof tokens === "string") {
          return yield* new Errors.NetworkError({
            target,
            detail: `the issuer answered 200 with a malformed token response (${tokens}); nothing was saved`,
            suggestion: `codex-auth never stores or prints a token with control characters or whitespace: check the issuer URL (CODEX_REFRESH_TOKEN_URL_OVERRIDE, oauth_provenance in auth.json). The issuer may already have rotated the refresh token. ${nextRun}`
          })
        }
        return tokens
      }
      return yield* classifyFailure(answer.status, answer.body, target)
    })

    const revoke = Effect.fn("RefreshTransport.revoke")(function*(request: Port.RevokeRequest) {
      const url = Port.revokeUrl(request.issuer, revokeOverride)
      const target = targetOf("POST", url)
      const { status } = yield* send(
        post(url, {
          token: Redacted.value(request.token),
          token_type_hint: request.tokenTypeHint,
          client_id: request.clientId
        }),
        revokeTimeout
      ).pipe(Effect.provideService(HttpClient.HttpClient, client))
      if (status < 200 || status >= 300) {
        return yield* new Errors.NetworkError({ target, detail: `the issuer answered HTTP ${status} to the revocation request` })
      }
    })

    return Port.RefreshTransport.of({ refresh, revoke })
  })

/** The transport with default headers and timeouts; needs an `HttpClient` (see `@codex-auth/tls`). */
export const layer: Layer.Layer<Port.RefreshTransport, never, HttpClient.HttpClient> = Layer.effect(Port.RefreshTransport, make())

/** The transport with custom headers or timeouts. */
export const layerWith = (options: RefreshTransportOptions): Layer.Layer<Port.RefreshTransport, never, HttpClient.HttpClient> =>
  Layer.effect(Port.RefreshTransport, make(options))

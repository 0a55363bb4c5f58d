/**
 * One request to the issuer: status and body text, with a time limit and a size limit (the body
 * is read through `@codex-auth/tls`'s `BoundedBody`, capped at 1 MiB), transport failures turned
 * into a core `NetworkError` that explains TLS and proxy problems (via `@codex-auth/tls`).
 * Bodies are returned to the decoder only; they are never logged.
 *
 * @internal
 */
import { Errors, SafeText } from "@codex-auth/core"
import { BoundedBody, Tls } from "@codex-auth/tls"
import { Duration, Effect } from "effect"
import { HttpClient, type HttpClientRequest } from "effect/http"

export interface Answer {
  readonly status: number
  readonly body: string
  /** `Retry-After` in milliseconds, when the answer has one. */
  readonly retryAfterMs: number | undefined
}

/** `POST https://host/path` without query, for messages. */
export const targetOf = (method: string, url: string): string => `${method} ${Tls.redactUrl(url)}`

const retryAfter = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 600) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, Math.min(date - Date.now(), 600_000))
}

export interface SendOptions {
  /** The hint of the timeout error (default: none beyond the detail). */
  readonly timeoutSuggestion?: string
  /** The body cap (default `BoundedBody.MAX_ANSWER_BYTES`, 1 MiB). */
  readonly maxBytes?: number
}

/**
 * Sends `request` and reads its body, at most 1 MiB of it; fails with `NetworkError` on transport
 * errors, on an oversized answer (at once, aborting the request) or after `timeout`.
 */
export const send = (
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Input,
  options: SendOptions = {}
): Effect.Effect<Answer, Errors.NetworkError, HttpClient.HttpClient> => {
  const target = targetOf(request.method, request.url)
  return Effect.gen(function*() {
    // Scoped: closing the scope aborts the request, also when its body was never pulled.
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const response = yield* client.execute(request)
    const body = yield* BoundedBody.readText(response, target, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes })
    return { status: response.status, body, retryAfterMs: retryAfter(response.headers["retry-after"]) }
  }).pipe(
    Effect.scoped,
    // No trace headers (traceparent, b3) toward the issuer.
    Effect.provideService(HttpClient.TracerPropagationEnabled, false),
    Effect.catchTag("HttpClientError", (e) => Effect.fail(Tls.toNetworkError(target, e))),
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(
          new Errors.NetworkError({
            target,
            detail: `no answer within ${Math.round(Duration.toMillis(Duration.fromInputUnsafe(timeout)) / 1000)} s`,
            suggestion: options.timeoutSuggestion ?? "The issuer did not answer in time: check that it and any proxy are reachable (`codex-auth doctor`), then try again."
          })
        )
    })
  )
}

/** Parses a JSON object body; `undefined` when it is not one. */
export const jsonObject = (body: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(body)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * The error code of an error body in either shape the issuer uses: RFC 6749
 * `{"error": "invalid_grant"}` or OpenAI's `{"error": {"code": "…"}}`, else a top-level `code`.
 */
export const errorCode = (body: string): string | undefined => {
  const map = jsonObject(body)
  if (map === undefined) return undefined
  const error = map["error"]
  if (typeof error === "string") return error
  if (typeof error === "object" && error !== null && !Array.isArray(error)) {
    const code = (error as Record<string, unknown>)["code"]
    if (typeof code === "string") return code
  }
  return typeof map["code"] === "string" ? map["code"] : undefined
}

/** `error_description` (RFC shape) or `error.message` (OpenAI shape). */
export const errorDescription = (body: string): string | undefined => {
  const map = jsonObject(body)
  if (map === undefined) return undefined
  if (typeof map["error_description"] === "string") return map["error_description"]
  const error = map["error"]
  if (typeof error === "object" && error !== null && !Array.isArray(error)) {
    const message = (error as Record<string, unknown>)["message"]
    if (typeof message === "string") return message
  }
  return undefined
}

/**
 * The first of `keys` whose string value in `map` is not a well-formed token (control characters
 * or whitespace, see `SafeText.isWellFormedSecret`), described without the value: `access_token
 * contains control characters`. Such an answer is malformed: nothing in it is stored.
 */
export const malformedToken = (map: Record<string, unknown>, keys: ReadonlyArray<string>): string | undefined => {
  for (const key of keys) {
    const v = map[key]
    if (typeof v !== "string" || v.length === 0) continue
    const problem = SafeText.secretProblem(v)
    if (problem !== undefined) return `${key} ${problem}`
  }
  return undefined
}

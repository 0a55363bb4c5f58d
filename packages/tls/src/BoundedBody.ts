/**
 * Reading an HTTP answer with a size cap: the one place codex-auth reads the body of anything an
 * issuer (or whatever answers in its place) sends. A token, device-code, revocation or doctor
 * answer is a few kilobytes; an answer beyond {@link MAX_ANSWER_BYTES} is refused, so a hostile or
 * broken server cannot make codex-auth buffer without limit.
 *
 * **Details**
 *
 * - A `Content-Length` above the cap fails before a byte of the body is read.
 * - A chunked (or lying) body is counted as it streams; the read stops at the first chunk that
 *   crosses the cap. Memory stays within the cap plus one chunk.
 * - Both fail with a core `NetworkError` (exit 6) marked `permanent` (retrying would only fetch
 *   the same answer again), whose message names the cap and whose hint says what to check.
 * - A body that breaks off (connection reset, issuer gone) fails as a `NetworkError` explained by
 *   {@link Tls.toNetworkError}, not as an empty body.
 *
 * **Gotchas**
 *
 * Stopping the read destroys the response body, which aborts the request. When the body is never
 * pulled (the `Content-Length` case), abort the request through `HttpClient.withScope` and a
 * scope around the exchange, as `@codex-auth/oauth`'s `send` does.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import { NetworkError } from "@codex-auth/core/Errors"
import type { HttpClientResponse } from "effect/http"
import * as Tls from "./Tls.ts"

/** 1 MiB: the largest answer codex-auth reads from an issuer. */
export const MAX_ANSWER_BYTES = 1024 * 1024

/** `1 MiB`, `64 KiB`, `512 bytes`. */
export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0
    ? `${bytes / (1024 * 1024)} MiB`
    : bytes >= 1024 && bytes % 1024 === 0
    ? `${bytes / 1024} KiB`
    : `${bytes} bytes`

/** The hint of an oversized answer. */
export const OVERSIZED_SUGGESTION =
  "An answer that large is not from a working issuer: the issuer URL may point at the wrong server, or a proxy or captive portal answered instead. Check the issuer URL and the proxy settings (`codex-auth doctor`), then try again."

/** The `NetworkError` for an answer above `maxBytes` (`declared`: its `Content-Length`, when that gave it away). */
export const oversized = (target: string, maxBytes: number, declared?: number): NetworkError =>
  new NetworkError({
    target,
    detail: `the issuer's answer exceeded ${formatBytes(maxBytes)}${
      declared === undefined ? "; codex-auth stopped reading it" : ` (Content-Length: ${declared} bytes); codex-auth did not read it`
    }`,
    suggestion: OVERSIZED_SUGGESTION,
    permanent: true
  })

export interface ReadOptions {
  /** The cap (default {@link MAX_ANSWER_BYTES}). */
  readonly maxBytes?: number
}

/** The `Content-Length` of a response, when it is a plain decimal number. */
const declaredLength = (response: HttpClientResponse.HttpClientResponse): number | undefined => {
  const value = response.headers["content-length"]?.trim()
  return value !== undefined && /^\d{1,20}$/.test(value) ? Number(value) : undefined
}

/**
 * The body of `response` as bytes, at most `maxBytes` of them. `target` (`POST https://host/path`,
 * no secrets) names the request in errors.
 */
export const readBytes = (
  response: HttpClientResponse.HttpClientResponse,
  target: string,
  options: ReadOptions = {}
): Effect.Effect<Uint8Array, NetworkError> =>
  Effect.suspend(() => {
    const maxBytes = options.maxBytes ?? MAX_ANSWER_BYTES
    const declared = declaredLength(response)
    if (declared !== undefined && declared > maxBytes) return Effect.fail(oversized(target, maxBytes, declared))
    const chunks: Array<Uint8Array> = []
    let size = 0
    return response.stream.pipe(
      Stream.runForEachArray((batch) => {
        for (const chunk of batch) {
          size += chunk.byteLength
          if (size > maxBytes) return Effect.fail(oversized(target, maxBytes))
          chunks.push(chunk)
        }
        return Effect.void
      }),
      Effect.catchTag("HttpClientError", (e) => Effect.fail(Tls.toNetworkError(target, e))),
      Effect.map(() => {
        if (chunks.length === 1) return chunks[0]!
        const all = new Uint8Array(size)
        let at = 0
        for (const chunk of chunks) {
          all.set(chunk, at)
          at += chunk.byteLength
        }
        return all
      })
    )
  })

/** The body of `response` as UTF-8 text, at most `maxBytes` bytes of it (see {@link readBytes}). */
export const readText = (
  response: HttpClientResponse.HttpClientResponse,
  target: string,
  options: ReadOptions = {}
): Effect.Effect<string, NetworkError> => Effect.map(readBytes(response, target, options), (bytes) => new TextDecoder().decode(bytes))

/** Reads and drops the body (capped), so the connection can be reused; never fails. */
export const discard = (response: HttpClientResponse.HttpClientResponse, options: ReadOptions = {}): Effect.Effect<void> =>
  Effect.ignore(readBytes(response, "", options))

/**
 * An `HttpClient` middleware for internal tooling that calls OpenAI/ChatGPT APIs with the Codex
 * credentials: every request gets `Authorization: Bearer …` (and `ChatGPT-Account-Id` in ChatGPT
 * mode) from the `AuthManager`; an HTTP 401 answer makes it call `refreshAfter401` (reload, adopt
 * another process's token, or refresh once under the cross-process lock) and replay the request
 * exactly once with the new token.
 *
 * **Example** (Calling an API with the shared credentials)
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const client = yield* AuthenticatedClient.AuthenticatedClient
 *   const response = yield* client.get("https://chatgpt.com/backend-api/me")
 *   return yield* response.json
 * }).pipe(Effect.provide(AuthenticatedClient.layer))
 * ```
 *
 * **Gotchas**
 *
 * - The replay re-sends the same `HttpClientRequest`; bodies built from strings, bytes, JSON or
 *   forms replay fine, a one-shot stream body does not.
 * - The hot path costs one cached header lookup per request: no file or network I/O while the
 *   token is valid.
 *
 * @since 0.1.0
 */
import { AuthManager } from "@codex-auth/core"
import { BoundedBody } from "@codex-auth/tls"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { HttpClient, type HttpClientError, HttpClientRequest, type HttpClientResponse } from "effect/http"

/** An HttpClient that can also fail with the AuthManager's errors (not logged in, sign in again, …). */
export type AuthenticatedHttpClient = HttpClient.HttpClient.With<HttpClientError.HttpClientError | AuthManager.AuthError>

export class AuthenticatedClient extends Context.Service<AuthenticatedClient, AuthenticatedHttpClient>()(
  "@codex-auth/oauth/AuthenticatedClient"
) {}

const bearerOf = (headers: Readonly<Record<string, string>>): string | undefined => {
  const h = headers["authorization"]
  return h?.startsWith("Bearer ") ? h.slice("Bearer ".length) : undefined
}

/** The 401 body is dropped before the replay, read capped (1 MiB) so it cannot grow without limit. */
const discard = (response: HttpClientResponse.HttpClientResponse) => BoundedBody.discard(response)

/** Wraps `client` so that every request is authenticated by `manager`. */
export const withAuth = (manager: AuthManager.AuthManagerShape) => (client: HttpClient.HttpClient): AuthenticatedHttpClient => {
  const send = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.gen(function*() {
      const headers = yield* manager.authorizationHeaders
      const response = yield* client.execute(HttpClientRequest.setHeaders(request, headers))
      if (response.status !== 401) return response
      const stale = bearerOf(headers)
      if (stale === undefined) return response
      const next = yield* manager.refreshAfter401(Redacted.make(stale))
      if (Option.isNone(next)) return response
      yield* discard(response)
      const fresh = yield* manager.authorizationHeaders
      return yield* client.execute(HttpClientRequest.setHeaders(request, fresh))
    })
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError | AuthManager.AuthError, never>(
    (request) => Effect.flatMap(request, send),
    (request) => Effect.succeed(request)
  )
}

/** The authenticated client over the `HttpClient` and `AuthManager` in context. */
export const make: Effect.Effect<AuthenticatedHttpClient, never, HttpClient.HttpClient | AuthManager.AuthManager> = Effect.gen(function*() {
  const client = yield* HttpClient.HttpClient
  const manager = yield* AuthManager.AuthManager
  return withAuth(manager)(client)
})

export const layer: Layer.Layer<AuthenticatedClient, never, HttpClient.HttpClient | AuthManager.AuthManager> = Layer.effect(
  AuthenticatedClient,
  make
)

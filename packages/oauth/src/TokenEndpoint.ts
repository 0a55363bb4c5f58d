/**
 * The token endpoint (`POST {issuer}/oauth/token`) for sign-in: the authorization-code exchange
 * (browser and device flows, RFC 6749 §4.1.3, form-encoded as Codex sends it) and the optional
 * token exchange of the ID token for an API key. Each is a request builder plus a response
 * decoder, and an effect that runs one after the other.
 *
 * A code exchange is sent once and never retried: codes are single-use, and the issuer revokes
 * whatever a replayed code produced.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Duration, Effect, Redacted, Result } from "effect"
import { type HttpClient, HttpClientRequest } from "effect/http"
import { errorCode, errorDescription, jsonObject, malformedToken, send, targetOf } from "./internal/http.ts"
import * as LoginError from "./LoginError.ts"
import type { OAuthClientConfig } from "./OAuthConfig.ts"

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
export const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"

/** The three tokens a sign-in yields. */
export interface TokenSet {
  readonly idToken: Redacted.Redacted<string>
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
}

export const tokenUrl = (issuer: string): string => `${issuer}/oauth/token`

const withHeaders = (config: OAuthClientConfig) =>
  HttpClientRequest.setHeaders({ originator: config.originator, "user-agent": config.userAgent, accept: "application/json" })

export interface CodeExchange {
  readonly code: Redacted.Redacted<string>
  readonly redirectUri: string
  readonly codeVerifier: Redacted.Redacted<string>
}

/** The form-encoded authorization-code request. */
export const authorizationCodeRequest = (config: OAuthClientConfig, exchange: CodeExchange): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(tokenUrl(config.issuer)).pipe(
    withHeaders(config),
    HttpClientRequest.bodyUrlParams({
      grant_type: "authorization_code",
      code: Redacted.value(exchange.code),
      redirect_uri: exchange.redirectUri,
      client_id: config.clientId,
      code_verifier: Redacted.value(exchange.codeVerifier)
    })
  )

const nonEmptyString = (u: unknown): string | undefined => (typeof u === "string" && u.length > 0 ? u : undefined)

/** Decodes the token endpoint's answer to a code exchange. */
export const decodeTokenResponse = (
  config: OAuthClientConfig,
  status: number,
  body: string
): Result.Result<TokenSet, Errors.LoginFailed | Errors.NetworkError> => {
  const target = targetOf("POST", tokenUrl(config.issuer))
  if (status >= 200 && status < 300) {
    const map = jsonObject(body)
    if (map === undefined) return Result.fail(LoginError.invalidTokenResponse("it is not a JSON object"))
    const missing = ["id_token", "access_token", "refresh_token"].filter((k) => nonEmptyString(map[k]) === undefined)
    if (missing.length > 0) return Result.fail(LoginError.invalidTokenResponse(`${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} missing`))
    const malformed = malformedToken(map, ["id_token", "access_token", "refresh_token"])
    if (malformed !== undefined) return Result.fail(LoginError.malformedTokenResponse(target, malformed))
    const idToken = map["id_token"] as string
    if (idToken.split(".").length !== 3) return Result.fail(LoginError.invalidTokenResponse("id_token is not a JWT"))
    return Result.succeed({
      idToken: Redacted.make(idToken),
      accessToken: Redacted.make(map["access_token"] as string),
      refreshToken: Redacted.make(map["refresh_token"] as string)
    })
  }
  const code = errorCode(body)
  if (status === 429 || status >= 500) {
    return Result.fail(new Errors.NetworkError({ target, detail: `the issuer answered HTTP ${status}${code !== undefined ? ` (${LoginError.sanitize(code, 60)})` : ""}`, suggestion: "The issuer is busy or unavailable; run `codex-auth login` again in a moment." }))
  }
  if (code === "invalid_grant") return Result.fail(LoginError.invalidGrant(LoginError.sanitize(errorDescription(body))))
  if (code === "invalid_client" || status === 401) return Result.fail(LoginError.invalidClient(config.clientId))
  return Result.fail(LoginError.tokenEndpointError(status, code))
}

/** Exchanges an authorization code for tokens (one POST, never retried). */
export const exchangeCode = (
  config: OAuthClientConfig,
  exchange: CodeExchange,
  options: { readonly timeout?: Duration.Input } = {}
): Effect.Effect<TokenSet, Errors.LoginFailed | Errors.NetworkError, HttpClient.HttpClient> =>
  send(authorizationCodeRequest(config, exchange), options.timeout ?? Duration.seconds(30)).pipe(
    Effect.flatMap((answer) => Effect.fromResult(decodeTokenResponse(config, answer.status, answer.body))),
    Effect.withSpan("TokenEndpoint.exchangeCode")
  )

/** The token-exchange request for an API key (`requested_token=openai-api-key`), as Codex sends it. */
export const apiKeyRequest = (config: OAuthClientConfig, idToken: Redacted.Redacted<string>): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.post(tokenUrl(config.issuer)).pipe(
    withHeaders(config),
    HttpClientRequest.bodyUrlParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: config.clientId,
      requested_token: "openai-api-key",
      subject_token: Redacted.value(idToken),
      subject_token_type: ID_TOKEN_TYPE
    })
  )

/**
 * Decodes the API-key exchange: `access_token` is the key. A key with control characters or
 * whitespace is a malformed answer: no key (and nothing of it is stored or shown).
 */
export const decodeApiKeyResponse = (status: number, body: string): Result.Result<Redacted.Redacted<string>, string> => {
  if (status < 200 || status >= 300) {
    const code = errorCode(body)
    return Result.fail(`HTTP ${status}${code !== undefined ? ` (${LoginError.sanitize(code, 60)})` : ""}`)
  }
  const map = jsonObject(body)
  const key = nonEmptyString(map?.["access_token"])
  if (key === undefined) return Result.fail("the answer has no access_token")
  const malformed = malformedToken(map!, ["access_token"])
  return malformed !== undefined ? Result.fail(`the answer is malformed: the API key (${malformed})`) : Result.succeed(Redacted.make(key))
}

/**
 * Exchanges the ID token for an API key, best-effort: `undefined` (with the reason) when the
 * issuer will not give one. Sign-in never fails because of it, as in Codex.
 */
export const exchangeForApiKey = (
  config: OAuthClientConfig,
  idToken: Redacted.Redacted<string>,
  options: { readonly timeout?: Duration.Input } = {}
): Effect.Effect<Result.Result<Redacted.Redacted<string>, string>, never, HttpClient.HttpClient> =>
  send(apiKeyRequest(config, idToken), options.timeout ?? Duration.seconds(15)).pipe(
    Effect.map((answer) => decodeApiKeyResponse(answer.status, answer.body)),
    Effect.catch((e) => Effect.succeed(Result.fail(e.detail))),
    Effect.withSpan("TokenEndpoint.exchangeForApiKey")
  )

/**
 * What every ChatGPT sign-in does once it holds tokens, in Codex's order and with its document
 * shape: build the auth.json document (with `oauth_provenance`, as Codex 0.169 writes it),
 * check it against policy **before** anything is stored, save it under the credential lock, then
 * revoke the refresh token it replaced (best-effort, after the save, so a failed revocation can
 * never cost the new login).
 *
 * A document the policy refuses is not stored, and its fresh refresh token is revoked
 * (best-effort) so the refused grant does not linger at the issuer.
 *
 * @since 0.1.0
 */
import { AuthDotJson, AuthPolicy, CredentialStore, type Errors, type Jwt, RefreshTransport } from "@codex-auth/core"
import { Clock, Duration, Effect, Option, Redacted, Result } from "effect"
import { validateIssuer } from "./OAuthConfig.ts"
import type { TokenSet } from "./TokenEndpoint.ts"

/** Revocation of one token, best-effort. */
export type RevokeOutcome =
  | { readonly _tag: "Revoked"; readonly tokenType: "refresh_token" | "access_token" }
  | { readonly _tag: "Failed"; readonly tokenType: "refresh_token" | "access_token"; readonly detail: string }

export interface PersistOptions {
  readonly tokens: TokenSet
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly provenance: AuthDotJson.OAuthProvenance
  /** Time limit of each best-effort revocation (default 5 s). */
  readonly revokeTimeout?: Duration.Input
}

export interface PersistResult {
  readonly doc: AuthDotJson.AuthDocument
  readonly store: CredentialStore.StoreInfo
  readonly claims: Jwt.TokenClaims | undefined
  /** The ChatGPT login this one replaced, if any, and what became of its refresh token. */
  readonly superseded: RevokeOutcome | undefined
}

/** Revokes one token best-effort within `timeout`; never fails. */
export const revokeBestEffort = (
  request: RefreshTransport.RevokeRequest,
  timeout: Duration.Input = Duration.seconds(5)
): Effect.Effect<RevokeOutcome, never, RefreshTransport.RefreshTransport> =>
  Effect.gen(function*() {
    const transport = yield* RefreshTransport.RefreshTransport
    const result = yield* transport.revoke(request).pipe(
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.fail({ detail: `no answer within ${Math.round(Duration.toMillis(Duration.fromInputUnsafe(timeout)) / 1000)} s` })
      }),
      Effect.result
    )
    return Result.isSuccess(result)
      ? { _tag: "Revoked" as const, tokenType: request.tokenTypeHint }
      : { _tag: "Failed" as const, tokenType: request.tokenTypeHint, detail: result.failure.detail }
  })

/**
 * Where a stored document's tokens go to be revoked: their `oauth_provenance` (where they came
 * from), else `fallback`. A stored issuer that is not an https (or loopback http) URL is refused
 * rather than sent a token.
 */
export const revocationTarget = (
  doc: AuthDotJson.AuthDocument,
  fallback: AuthDotJson.OAuthProvenance
): Result.Result<AuthDotJson.OAuthProvenance, string> => {
  const stored = AuthDotJson.provenanceOf(doc)
  if (stored === undefined) return Result.succeed(fallback)
  const issuer = validateIssuer(stored.issuer, "oauth_provenance.issuer")
  return Result.isFailure(issuer)
    ? Result.fail("the issuer recorded in the stored credentials (oauth_provenance.issuer) is not a usable URL; nothing was sent")
    : Result.succeed({ issuer: issuer.success, clientId: stored.clientId })
}

/** Checks, stores, and revokes what it superseded. */
export const persist = Effect.fn("Persist.persist")(function*(options: PersistOptions) {
  const policy = yield* AuthPolicy.AuthPolicy
  const store = yield* CredentialStore.CredentialStore
  const now = new Date(yield* Clock.currentTimeMillis)
  const doc = AuthDotJson.fromChatGptTokens({
    idToken: options.tokens.idToken,
    accessToken: options.tokens.accessToken,
    refreshToken: options.tokens.refreshToken,
    apiKey: options.apiKey,
    provenance: options.provenance,
    now
  })
  const revokeTimeout = options.revokeTimeout ?? Duration.seconds(5)
  yield* policy.checkCredentials(doc).pipe(
    Effect.tapError(() =>
      revokeBestEffort({ token: options.tokens.refreshToken, tokenTypeHint: "refresh_token", issuer: options.provenance.issuer, clientId: options.provenance.clientId }, revokeTimeout)
    )
  )
  // Under codex-auth's refresh lock: a refresh in flight in another codex-auth process finishes (and
  // saves) first, so the superseded refresh token revoked below is the latest one, and no refresh
  // token is revoked while a refresh is spending it.
  const { info, superseded } = yield* store.withRefreshLock(Effect.gen(function*() {
    const previous = yield* store.withLock(
      Effect.gen(function*() {
        const old = yield* store.load.pipe(
          Effect.map(Option.getOrUndefined),
          Effect.orElseSucceed(() => undefined)
        )
        yield* store.save(doc)
        return old
      })
    )
    const info = yield* store.info
    let superseded: RevokeOutcome | undefined
    const oldTokens = previous?.tokens
    if (
      oldTokens !== undefined &&
      Redacted.value(oldTokens.refreshToken).length > 0 &&
      Redacted.value(oldTokens.refreshToken) !== Redacted.value(options.tokens.refreshToken)
    ) {
      const from = revocationTarget(previous!, options.provenance)
      superseded = Result.isFailure(from)
        ? { _tag: "Failed", tokenType: "refresh_token", detail: from.failure }
        : yield* revokeBestEffort({ token: oldTokens.refreshToken, tokenTypeHint: "refresh_token", ...from.success }, revokeTimeout)
    }
    return { info, superseded }
  }))
  return { doc, store: info, claims: AuthDotJson.claimsOf(doc), superseded } satisfies PersistResult
})

export type PersistError = Errors.PolicyViolation | Errors.StorageError

/**
 * Logout: purge every store, and revoke the session at the issuer (RFC 7009) best-effort with a
 * short time limit — the refresh token when there is one (it ends the whole grant), else the
 * access token. The purge comes first and never depends on the revocation; a store that could
 * not be purged skips the revocation (a revoked session must not stay on disk), and the report says exactly
 * what was revoked and what was not, so the CLI can be honest about it. `localOnly` skips the
 * issuer entirely.
 *
 * The stored tokens go back to the issuer they came from (`oauth_provenance`), else to the
 * configured issuer; `CODEX_REVOKE_TOKEN_URL_OVERRIDE` still wins (inside the transport).
 *
 * @since 0.1.0
 */
import { AuthDotJson, CredentialStore, Env, type Errors, RefreshTransport } from "@codex-auth/core"
import { Duration, Effect, Option, Redacted, Result } from "effect"
import { type RevokeOutcome, revocationTarget, revokeBestEffort } from "./Persist.ts"

export type Revocation =
  | RevokeOutcome
  | {
    readonly _tag: "Skipped"
    /** `not_removed`: a store could not be purged, so the session is kept whole (not revoked while still on disk). */
    readonly reason: "local_only" | "nothing_stored" | "api_key" | "unusable_issuer" | "not_removed"
    readonly detail?: string
  }

export interface LogoutReport {
  /** What was stored before: `chatgpt`, `apikey`, or nothing (or unreadable). */
  readonly mode: AuthDotJson.AuthMode | "unreadable" | undefined
  /** The issuer the tokens were revoked at (`oauth_provenance`, else the fallback), when it was attempted. */
  readonly issuer: string | undefined
  /**
   * The URL the revocation was sent to (`{issuer}/oauth/revoke`, or
   * `CODEX_REVOKE_TOKEN_URL_OVERRIDE`), without user-info, query or fragment; when it was attempted.
   */
  readonly revokeUrl: string | undefined
  readonly revocation: Revocation
  readonly removed: ReadonlyArray<string>
  readonly absent: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly location: string; readonly detail: string }>
  /** Set when no store could be purged at all. */
  readonly removeError: Errors.StorageError | undefined
}

export interface LogoutOptions {
  readonly localOnly: boolean
  /** Issuer and client for tokens without `oauth_provenance`. */
  readonly fallback: AuthDotJson.OAuthProvenance
  /** Time limit of the revocation (default 5 s). */
  readonly revokeTimeout?: Duration.Input
}

export const logout = Effect.fn("Logout.logout")(function*(options: LogoutOptions) {
  const store = yield* CredentialStore.CredentialStore
  // Under codex-auth's refresh lock: a refresh in flight elsewhere saves first, so what is removed
  // and revoked is the latest session, and no refresh token is revoked while it is being spent.
  return yield* store.withRefreshLock(logoutLocked(store, options))
})

const logoutLocked = (store: CredentialStore.CredentialStoreShape, options: LogoutOptions) => Effect.gen(function*() {
  const loaded = yield* Effect.result(store.load)
  const doc = Result.isSuccess(loaded) ? Option.getOrUndefined(loaded.success) : undefined
  const mode = Result.isFailure(loaded) ? "unreadable" as const : doc === undefined ? undefined : AuthDotJson.modeOf(doc)

  const removed = yield* Effect.result(store.remove)

  let revocation: Revocation
  let issuer: string | undefined
  let revokeUrl: string | undefined
  const tokens = doc?.tokens
  if (options.localOnly) {
    revocation = { _tag: "Skipped", reason: "local_only" }
  } else if (Result.isFailure(removed) || removed.success.failed.length > 0) {
    // Revoking now would leave a dead session on disk: the user fixes the store and logs out again.
    revocation = { _tag: "Skipped", reason: "not_removed" }
  } else if (tokens === undefined || doc === undefined) {
    revocation = { _tag: "Skipped", reason: mode === "apikey" ? "api_key" : "nothing_stored" }
  } else {
    const target = revocationTarget(doc, options.fallback)
    if (Result.isFailure(target)) {
      revocation = { _tag: "Skipped", reason: "unusable_issuer", detail: target.failure }
    } else {
      issuer = target.success.issuer
      revokeUrl = forMessages(RefreshTransport.revokeUrl(issuer, yield* Env.envString(RefreshTransport.REVOKE_URL_OVERRIDE_ENV, { trim: true })))
      const useRefresh = Redacted.value(tokens.refreshToken).length > 0
      revocation = yield* revokeBestEffort(
        {
          token: useRefresh ? tokens.refreshToken : tokens.accessToken,
          tokenTypeHint: useRefresh ? "refresh_token" : "access_token",
          issuer: target.success.issuer,
          clientId: target.success.clientId
        },
        options.revokeTimeout ?? Duration.seconds(5)
      )
    }
  }
  return {
    mode,
    issuer,
    revokeUrl,
    revocation,
    removed: Result.isSuccess(removed) ? removed.success.removed : [],
    absent: Result.isSuccess(removed) ? removed.success.absent : [],
    failed: Result.isSuccess(removed) ? removed.success.failed : [],
    removeError: Result.isFailure(removed) ? removed.failure : undefined
  } satisfies LogoutReport
})

/** A URL without user-info, query or fragment (they may hold secrets). */
const forMessages = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "<invalid URL>"
  }
}

/** `logout` needs these. */
export type LogoutRequirements = CredentialStore.CredentialStore | RefreshTransport.RefreshTransport

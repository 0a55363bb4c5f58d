/**
 * `AuthManager`: the one place that turns stored (or environment) credentials into a bearer token,
 * refreshing ChatGPT tokens so that a rotated refresh token is never lost and never replayed, even
 * when many processes share one `auth.json`.
 *
 * **Mental model**
 *
 * - Credentials come from, in Codex's order: `CODEX_API_KEY`, then `CODEX_ACCESS_TOKEN`, then the
 *   `CredentialStore` (file, keyring, auto, memory). Environment credentials are never refreshed.
 * - A stored ChatGPT token is refreshed proactively when its access token is expired or within
 *   5 minutes of `exp`, or when `last_refresh` is older than 8 days; and on demand after an HTTP
 *   401 (`refreshAfter401`: reload first, adopt a token another process wrote, else refresh once).
 * - Single flight in the process: one semaphore; concurrent callers wait for the one refresh and
 *   then read its result. Across processes: the store's lock (`auth.json.lock`, `flock(2)` like
 *   the Codex CLI); inside it the store is re-read, and the refresh POST is sent only if the stored
 *   token still needs it; the result is written atomically before the lock is released.
 * - Never replay: a transient failure (`NetworkError`) is not retried; the manager keeps serving
 *   the current token while it is valid and waits (5 s, doubling to 5 min) before it sends a
 *   refresh again. A permanent failure (`ReauthRequired`) is remembered for that refresh token
 *   (and, with `codexHome`, in the `ReauthMarker` file for other processes and `login status`).
 * - Hot path: a valid cached token is served from memory; the store's cheap `fingerprint` is
 *   checked at most every `changeCheckIntervalMs` (250 ms) to notice other processes' writes.
 *
 * **Gotchas**
 *
 * State is only changed by an answer of the transport (a token set, `ReauthRequired` or
 * `NetworkError`): a defect raised by `RefreshTransport.refresh` propagates with nothing written
 * (no save, no marker, no backoff) and the lock released, so the run can be repeated elsewhere
 * (the CLI's fast path relies on this to hand a refresh over to the full CLI).
 *
 * The startup policy check (`enforcePolicy`, on by default) logs out stored credentials that
 * break the `AuthPolicy` when the layer is built, and fails the layer with
 * `PolicyViolation({ loggedOut: true })`, and refuses environment credentials that break it
 * (`PolicyEnforcement.enforceAtStartup`, which `@codex-auth/policy`'s `enforceAtStartup` runs
 * too). Apps that already run that at startup pass `enforcePolicy: false`.
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Option, Redacted, Result, Schedule, Semaphore } from "effect"
import * as AuthDotJson from "./AuthDotJson.ts"
import { AuthPolicy } from "./AuthPolicy.ts"
import { CredentialStore } from "./CredentialStore.ts"
import * as Errors from "./Errors.ts"
import * as Jwt from "./Jwt.ts"
import * as PolicyEnforcement from "./PolicyEnforcement.ts"
import { envString } from "./Env.ts"
import * as ReauthMarker from "./ReauthMarker.ts"
import * as SafeText from "./SafeText.ts"
import { DEFAULT_CLIENT_ID, DEFAULT_ISSUER, type RefreshedTokens, type RefreshReason, RefreshTransport } from "./RefreshTransport.ts"

// The refresh schedule lives with the document (the CLI's status reads it without the manager).
const { MAX_REFRESH_AGE_MS, REFRESH_SKEW_MS, refreshDueAt } = AuthDotJson

export type CredentialSource = "env:CODEX_API_KEY" | "env:CODEX_ACCESS_TOKEN" | "store"

/** What the manager currently authenticates with; never holds a secret. */
export interface Credentials {
  readonly source: CredentialSource
  readonly mode: AuthDotJson.AuthMode
  /** `ChatGPT-Account-Id`: `tokens.account_id`, else the ID token's `chatgpt_account_id`. */
  readonly accountId: string | undefined
  /** ID-token claims (for `CODEX_ACCESS_TOKEN`, the access token's). */
  readonly claims: Jwt.TokenClaims | undefined
  /** Access token `exp`, ms since the epoch. */
  readonly accessTokenExpiresAt: number | undefined
  readonly lastRefresh: string | undefined
  /** When a proactive refresh is due (ms); `undefined` for API keys and environment tokens. */
  readonly refreshDueAt: number | undefined
  /** Where refresh and revoke go (`oauth_provenance.issuer`, else auth.openai.com). */
  readonly issuer: string | undefined
}

export type AuthError =
  | Errors.NotLoggedIn
  | Errors.ReauthRequired
  | Errors.NetworkError
  | Errors.StorageError
  | Errors.CorruptCredentials

/** The refresh machinery's state, for status displays and tests. */
export interface RefreshStatus {
  /** Set after the issuer rejected the current refresh token for good. */
  readonly reauthRequired: Errors.ReauthRequired | undefined
  /** The last transient failure, while its backoff applies. */
  readonly lastError: Errors.NetworkError | undefined
  /** No refresh POST is sent before this time (ms), during a backoff. */
  readonly retryAt: number | undefined
  /** Refresh POSTs this manager sent. */
  readonly refreshRequests: number
  /** Refreshes avoided because the store already held a newer token (another process refreshed). */
  readonly adopted: number
  /**
   * Refreshed tokens not saved (and revoked) because the stored credentials changed to something
   * else (another account, an API key, a logout) while the refresh was in flight.
   */
  readonly discarded: number
  /** What happened the last time that was so, for a warning; `undefined` when it never was. */
  readonly credentialsChanged: string | undefined
  /**
   * Set while refreshed credentials could not be saved (the store failed after the refresh POST,
   * although it was proved writable just before): they are served from memory, and every later
   * read of the store tries to save them again first. The error is the last save failure.
   */
  readonly unsaved: Errors.StorageError | undefined
}

export interface AuthManagerShape {
  /** The credentials in use (no refresh, no network); fails when not logged in. */
  readonly current: Effect.Effect<Credentials, Errors.NotLoggedIn | Errors.StorageError | Errors.CorruptCredentials>
  /**
   * The bearer token: the API key, or a ChatGPT access token refreshed when needed. A valid cached
   * token is served without I/O.
   */
  readonly accessToken: Effect.Effect<Redacted.Redacted<string>, AuthError>
  /**
   * The cached token if it can be served right now without any I/O (valid, not due, change check
   * not due), else `undefined`: a synchronous hot path for code outside Effect, which falls back
   * to running `accessToken`.
   */
  readonly cachedAccessToken: () => Redacted.Redacted<string> | undefined
  /** `Authorization: Bearer …`, plus `ChatGPT-Account-Id` in ChatGPT mode (header names lower-cased). */
  readonly authorizationHeaders: Effect.Effect<Readonly<Record<string, string>>, AuthError>
  /**
   * After an HTTP 401 answered to `staleToken`: reloads the store; adopts a different token another
   * process wrote; otherwise refreshes once (under the cross-process lock). `None` when there is
   * nothing better to retry with (API key or environment token unchanged).
   */
  readonly refreshAfter401: (staleToken: Redacted.Redacted<string>) => Effect.Effect<Option.Option<Redacted.Redacted<string>>, AuthError>
  /** Forgets the cached credentials; the next call re-reads the store. */
  readonly invalidate: Effect.Effect<void>
  readonly refreshStatus: Effect.Effect<RefreshStatus>
}

export interface AuthManagerOptions {
  /** Run the startup policy check when the layer is built (default true). */
  readonly enforcePolicy?: boolean
  /** Read `CODEX_API_KEY` / `CODEX_ACCESS_TOKEN` from the current `ConfigProvider` (default true). */
  readonly useEnvironment?: boolean
  /** How often the hot path checks the store's fingerprint for other processes' writes (default 250 ms). */
  readonly changeCheckIntervalMs?: number
  readonly refreshSkewMs?: number
  readonly maxRefreshAgeMs?: number
  /** First wait after a transient refresh failure (default 5 s), doubled up to `maxBackoffMs` (5 min). */
  readonly initialBackoffMs?: number
  readonly maxBackoffMs?: number
  /** Enables the cross-process "sign in again" marker in this directory (see `ReauthMarker`). */
  readonly codexHome?: string
}

export class AuthManager extends Context.Service<AuthManager, AuthManagerShape>()("@codex-auth/core/AuthManager") {
  /** Default options (policy enforced at startup, environment honoured). */
  static readonly layer: Layer.Layer<
    AuthManager,
    Errors.PolicyViolation | Errors.StorageError | Errors.UsageError,
    CredentialStore | RefreshTransport | AuthPolicy
  > = Layer.effect(AuthManager, Effect.suspend(() => make()))

  static readonly layerWith = (options: AuthManagerOptions): Layer.Layer<
    AuthManager,
    Errors.PolicyViolation | Errors.StorageError | Errors.UsageError,
    CredentialStore | RefreshTransport | AuthPolicy
  > => Layer.effect(AuthManager, make(options))
}

/** A usable credential, parsed once. */
interface Loaded {
  readonly doc: AuthDotJson.AuthDocument | undefined
  readonly mode: AuthDotJson.AuthMode
  readonly token: Redacted.Redacted<string>
  readonly tokenValue: string
  readonly refreshValue: string | undefined
  readonly expMs: number | undefined
  /** Proactive refresh due (ms); Infinity when never. */
  readonly dueAt: number
  readonly credentials: Credentials
  readonly headers: Readonly<Record<string, string>>
}

interface Snapshot {
  readonly loaded: Loaded | undefined
  readonly fingerprint: string
  checkedAt: number
  /** The hot path serves `tokenEffect` while `now < fastUntil`. */
  fastUntil: number
  tokenEffect: Effect.Effect<Redacted.Redacted<string>>
  headersEffect: Effect.Effect<Readonly<Record<string, string>>>
}

const headersFor = (token: string, mode: AuthDotJson.AuthMode, accountId: string | undefined): Readonly<Record<string, string>> =>
  mode === "chatgpt" && accountId !== undefined
    ? { authorization: `Bearer ${token}`, "chatgpt-account-id": accountId }
    : { authorization: `Bearer ${token}` }

/** The document a successful refresh produces: unknown fields kept, returned tokens replaced. */
export const mergeRefreshed = (
  doc: AuthDotJson.AuthDocument,
  tokens: {
    readonly idToken: Redacted.Redacted<string> | undefined
    readonly accessToken: Redacted.Redacted<string> | undefined
    readonly refreshToken: Redacted.Redacted<string> | undefined
  },
  now: Date
): AuthDotJson.AuthDocument => ({
  ...doc,
  tokens: doc.tokens === undefined ? undefined : {
    ...doc.tokens,
    idToken: tokens.idToken ?? doc.tokens.idToken,
    accessToken: tokens.accessToken ?? doc.tokens.accessToken,
    refreshToken: tokens.refreshToken ?? doc.tokens.refreshToken
  },
  lastRefresh: now.toISOString()
})

/** Builds the manager from the services in context. */
export const make = Effect.fnUntraced(function*(options: AuthManagerOptions = {}) {
  const store = yield* CredentialStore
  const transport = yield* RefreshTransport
  const policy = yield* AuthPolicy
  const clock = yield* Clock.Clock
  const interval = options.changeCheckIntervalMs ?? 250
  const dueOptions = {
    refreshSkewMs: options.refreshSkewMs ?? REFRESH_SKEW_MS,
    maxRefreshAgeMs: options.maxRefreshAgeMs ?? MAX_REFRESH_AGE_MS
  }
  const initialBackoff = options.initialBackoffMs ?? 5_000
  const maxBackoff = options.maxBackoffMs ?? 300_000
  const codexHome = options.codexHome
  const lock = yield* Semaphore.make(1)
  const now = () => clock.currentTimeMillisUnsafe()

  const envApiKey = options.useEnvironment === false ? undefined : yield* envString("CODEX_API_KEY", { trim: true })
  const envAccessToken = options.useEnvironment === false ? undefined : yield* envString("CODEX_ACCESS_TOKEN", { trim: true })

  // A key or token with control characters or inner whitespace is never sent or printed: it is
  // refused (exit 2) rather than used, whatever the stored credentials hold.
  for (const [name, value] of [["CODEX_API_KEY", envApiKey], ["CODEX_ACCESS_TOKEN", envAccessToken]] as const) {
    const problem = value === undefined ? undefined : SafeText.secretProblem(value)
    if (problem !== undefined) {
      return yield* new Errors.UsageError({
        detail: `${name} ${problem}, so it was not used`,
        suggestion: `Set ${name} to the ${name === "CODEX_API_KEY" ? "key" : "token"} alone (one line, no spaces or control characters), or unset it to use the stored credentials.`
      })
    }
  }

  if (options.enforcePolicy !== false) {
    yield* PolicyEnforcement.enforceAtStartup(store, policy, { apiKey: envApiKey, accessToken: envAccessToken })
  }

  const location = Effect.map(store.info, (i) => i.location)

  const notLoggedIn = () => Effect.flatMap(location, (where) => Effect.fail(new Errors.NotLoggedIn({ detail: `no credentials in ${where}` })))

  /** The one constructor of `Loaded`: what it serves, the `Credentials` it reports, its headers. */
  const loaded = (l: {
    readonly doc: AuthDotJson.AuthDocument | undefined
    readonly source: CredentialSource
    readonly mode: AuthDotJson.AuthMode
    readonly token: Redacted.Redacted<string>
    readonly refreshValue?: string | undefined
    readonly dueAt?: number
    readonly claims?: Jwt.TokenClaims | undefined
    readonly accountId?: string | undefined
    readonly issuer?: string | undefined
  }): Loaded => {
    const tokenValue = Redacted.value(l.token)
    const expMs = l.mode === "chatgpt" ? Jwt.expiryMillis(tokenValue) : undefined
    const dueAt = l.dueAt ?? Number.POSITIVE_INFINITY
    return {
      doc: l.doc,
      mode: l.mode,
      token: l.token,
      tokenValue,
      refreshValue: l.refreshValue,
      expMs,
      dueAt,
      credentials: {
        source: l.source,
        mode: l.mode,
        accountId: l.accountId,
        claims: l.claims,
        accessTokenExpiresAt: expMs,
        lastRefresh: l.doc?.lastRefresh,
        refreshDueAt: Number.isFinite(dueAt) ? dueAt : undefined,
        issuer: l.issuer
      },
      headers: headersFor(tokenValue, l.mode, l.accountId)
    }
  }

  /** Parses a stored document into a usable credential, or explains why it is not one. */
  const build = (doc: AuthDotJson.AuthDocument, where: string): Result.Result<Loaded, Errors.NotLoggedIn> => {
    const mode = AuthDotJson.modeOf(doc)
    if (mode === "apikey") {
      if (doc.apiKey === undefined) return Result.fail(new Errors.NotLoggedIn({ detail: `${where} says auth_mode apikey but holds no OPENAI_API_KEY` }))
      return Result.succeed(loaded({ doc, source: "store", mode, token: doc.apiKey }))
    }
    if (mode === "chatgpt" && doc.tokens !== undefined) {
      const claims = AuthDotJson.claimsOf(doc)
      return Result.succeed(loaded({
        doc,
        source: "store",
        mode,
        token: doc.tokens.accessToken,
        refreshValue: Redacted.value(doc.tokens.refreshToken),
        dueAt: refreshDueAt(doc, dueOptions),
        claims,
        accountId: doc.tokens.accountId ?? claims?.accountId,
        issuer: AuthDotJson.provenanceOf(doc)?.issuer ?? DEFAULT_ISSUER
      }))
    }
    return Result.fail(new Errors.NotLoggedIn({ detail: `${where} holds no usable credentials (ChatGPT mode without tokens)` }))
  }

  const fixedFromEnv = ((): Loaded | undefined => {
    if (envApiKey !== undefined) return loaded({ doc: undefined, source: "env:CODEX_API_KEY", mode: "apikey", token: Redacted.make(envApiKey) })
    if (envAccessToken !== undefined) {
      const claims = Result.getOrUndefined(Jwt.parseClaims(envAccessToken))
      return loaded({ doc: undefined, source: "env:CODEX_ACCESS_TOKEN", mode: "chatgpt", token: Redacted.make(envAccessToken), claims, accountId: claims?.accountId })
    }
    return undefined
  })()

  let snap: Snapshot | undefined
  let permanent: { readonly refreshValue: string; readonly error: Errors.ReauthRequired } | undefined
  let backoff: { readonly refreshValue: string; readonly until: number; readonly delay: number; readonly error: Errors.NetworkError } | undefined
  let refreshRequests = 0
  let adopted = 0
  let discarded = 0
  let lastChange: string | undefined
  /** Refreshed tokens the store refused to take (see `RefreshStatus.unsaved`). */
  let unsaved: {
    readonly refreshValue: string
    readonly answer: RefreshedTokens
    readonly at: Date
    readonly loaded: Loaded
    error: Errors.StorageError
  } | undefined

  const needsRefresh = (l: Loaded, t: number) => l.mode === "chatgpt" && l.refreshValue !== undefined && t >= l.dueAt
  const expired = (l: Loaded, t: number) => l.expMs !== undefined && t >= l.expMs

  const setSnapshot = (loaded: Loaded | undefined, fingerprint: string, t: number): Snapshot => {
    snap = {
      loaded,
      fingerprint,
      checkedAt: t,
      fastUntil: 0,
      tokenEffect: loaded === undefined ? Effect.never : Effect.succeed(loaded.token),
      headersEffect: loaded === undefined ? Effect.never : Effect.succeed(loaded.headers)
    }
    return snap
  }

  /** Decides how long the hot path may serve `s` without coming back here. */
  const settle = (s: Snapshot, t: number): void => {
    const l = s.loaded
    if (l === undefined) {
      s.fastUntil = 0
    } else if (!needsRefresh(l, t)) {
      s.fastUntil = Math.min(l.dueAt, s.checkedAt + interval)
    } else if (backoff !== undefined && backoff.refreshValue === l.refreshValue && t < backoff.until && !expired(l, t)) {
      s.fastUntil = Math.min(backoff.until, l.expMs ?? Number.POSITIVE_INFINITY, s.checkedAt + interval)
    } else {
      s.fastUntil = 0
    }
  }

  if (fixedFromEnv !== undefined) {
    const s = setSnapshot(fixedFromEnv, "env", 0)
    s.fastUntil = Number.POSITIVE_INFINITY
  }

  /**
   * Fingerprint first, then load: a write in between is noticed at the next check. With `always`,
   * loads even when the fingerprint did not change (under a lock, where a coarse fingerprint must
   * not hide another process's write).
   */
  const syncWithStore = (t: number, always = false): Effect.Effect<Snapshot, Errors.StorageError | Errors.CorruptCredentials | Errors.NotLoggedIn> =>
    Effect.gen(function*() {
      if (unsaved !== undefined) {
        const u = unsaved
        const again = yield* Effect.result(commitRefreshed(u.refreshValue, u.answer, u.at))
        if (Result.isFailure(again)) {
          if (again.failure._tag === "StorageError") u.error = again.failure
          return setSnapshot(u.loaded, "unsaved", t)
        }
        unsaved = undefined
        if (again.success.saved) {
          yield* Effect.logInfo("the refreshed credentials kept in memory are saved now")
          const built = build(again.success.merged, yield* location)
          if (Result.isSuccess(built)) return setSnapshot(built.success, again.success.fingerprint, t)
        }
        // Someone else changed the stored credentials meanwhile: what is stored wins, as below.
      }
      const fingerprint = yield* store.fingerprint
      const previous = snap
      if (!always && previous !== undefined && previous.fingerprint === fingerprint) {
        previous.checkedAt = t
        return previous
      }
      const doc = yield* store.load
      if (Option.isNone(doc)) return setSnapshot(undefined, fingerprint, t)
      const built = build(doc.value, yield* location)
      if (Result.isFailure(built)) return yield* built.failure
      return setSnapshot(built.success, fingerprint, t)
    })

  const backoffError = (b: NonNullable<typeof backoff>, t: number) =>
    new Errors.NetworkError({
      target: b.error.target,
      detail: `${b.error.detail}; the access token has expired and the refresh is not retried for another ${Math.max(1, Math.ceil((b.until - t) / 1000))} s`,
      suggestion: "Refresh tokens rotate, so this process does not send the refresh again during the back-off. Check the network (`codex-auth doctor`), then try again once it has passed."
    })

  const reasonFor = (l: Loaded, t: number): RefreshReason =>
    l.expMs !== undefined && t >= l.expMs - dueOptions.refreshSkewMs ? "proactive_expiry" : "stale_last_refresh"

  const rememberPermanent = (refreshValue: string, error: Errors.ReauthRequired, t: number, writeMarker: boolean) =>
    Effect.sync(() => {
      permanent = { refreshValue, error }
      backoff = undefined
      if (writeMarker && codexHome !== undefined) ReauthMarker.write(codexHome, refreshValue, error.reason, new Date(t))
    })

  /** Whether `l` can be served instead of refreshing (`stale`: the token a 401 was answered to). */
  const adoptable = (l: Loaded, t: number, stale: string | undefined) =>
    l.mode === "apikey" || l.refreshValue === undefined || (!needsRefresh(l, t) && l.tokenValue !== stale)

  /**
   * While another process holds the refresh lock: the stored credentials once they can be served
   * (that process, or any other client, refreshed), so waiters stop waiting at once instead of
   * passing through the lock one by one. A read that fails here is left to the locked re-read.
   */
  const adoptWhileWaiting = (stale: string | undefined) =>
    Effect.suspend(() => {
      const t = now()
      return Effect.map(syncWithStore(t), (s): Option.Option<Loaded> => {
        const l = s.loaded
        if (l === undefined || !adoptable(l, t, stale)) return Option.none()
        adopted++
        settle(s, t)
        return Option.some(l)
      })
    }).pipe(Effect.orElseSucceed(() => Option.none<Loaded>()))

  /** Same ChatGPT session: account and user ids match (they survive rotation). */
  const sameSession = (a: AuthDotJson.AuthDocument, b: AuthDotJson.AuthDocument) => {
    if (a.tokens === undefined || b.tokens === undefined) return false
    const ca = AuthDotJson.claimsOf(a)
    const cb = AuthDotJson.claimsOf(b)
    return (a.tokens.accountId ?? ca?.accountId) === (b.tokens.accountId ?? cb?.accountId) && ca?.userId === cb?.userId
  }

  /**
   * The commit of a refresh answer: milliseconds under Codex's locks, against what is stored now.
   * Saved only over the refresh token that was sent (`refreshValue`).
   */
  const commitRefreshed = (refreshValue: string, answer: RefreshedTokens, at: Date) =>
    store.withLock(Effect.gen(function*() {
      const current = Option.getOrUndefined(yield* store.load)
      if (current?.tokens === undefined || Redacted.value(current.tokens.refreshToken) !== refreshValue) return { saved: false as const, current }
      const merged = mergeRefreshed(current, answer, at)
      yield* store.save(merged)
      return { saved: true as const, merged, fingerprint: yield* store.fingerprint }
    }))

  /**
   * The refresh, under codex-auth's refresh lock (never under the commit lock): re-read; adopt
   * what another process wrote; else send one refresh POST, then commit its answer under the
   * commit lock — only if the stored credentials still hold the refresh token that was sent.
   * Stored credentials that changed meanwhile are never overwritten: the same session refreshed by
   * another client is adopted; anything else (another account, an API key, a logout) is kept, and
   * the refresh token just obtained is revoked (best-effort), since nobody will ever use it.
   */
  const refreshLocked = (mode: { readonly stale: string | undefined; readonly keepValidOnTransient: boolean }) =>
    store.withRefreshLock(Effect.gen(function*() {
      const t = now()
      const s = yield* syncWithStore(t, true)
      const l = s.loaded
      if (l === undefined) return yield* notLoggedIn()
      if (l.mode === "apikey" || l.refreshValue === undefined) return l
      if (adoptable(l, t, mode.stale)) {
        adopted++
        settle(s, t)
        return l
      }
      if (permanent !== undefined && permanent.refreshValue === l.refreshValue) return yield* permanent.error
      if (codexHome !== undefined) {
        const marker = ReauthMarker.activeFor(codexHome, l.doc)
        if (marker !== undefined) {
          const error = new Errors.ReauthRequired({ reason: marker.reason })
          yield* rememberPermanent(l.refreshValue, error, t, false)
          return yield* error
        }
      }
      if (backoff !== undefined && backoff.refreshValue === l.refreshValue && t < backoff.until) {
        if (mode.keepValidOnTransient && !expired(l, t)) {
          settle(s, t)
          return l
        }
        return yield* backoffError(backoff, t)
      }
      // Never spend a refresh token whose successor cannot be stored: prove the save first.
      yield* store.probeWrite
      const sent = l.doc!
      const provenance = AuthDotJson.provenanceOf(sent)
      const target = { issuer: provenance?.issuer ?? DEFAULT_ISSUER, clientId: provenance?.clientId ?? DEFAULT_CLIENT_ID }
      const refreshValue = l.refreshValue
      // From the POST to the commit, nothing interrupts: a refresh token that was sent is never
      // abandoned (its answer is waited for, within the transport's time-out, and saved).
      return yield* Effect.uninterruptible(Effect.gen(function*() {
        refreshRequests++
        const answer = yield* Effect.result(transport.refresh({
          refreshToken: sent.tokens!.refreshToken,
          ...target,
          reason: mode.stale !== undefined ? "unauthorized" : reasonFor(l, t)
        }))
        if (Result.isFailure(answer)) {
          const error = answer.failure
          if (error._tag === "ReauthRequired") {
            yield* rememberPermanent(refreshValue, error, t, true)
            return yield* error
          }
          const delay = backoff !== undefined && backoff.refreshValue === refreshValue ? Math.min(backoff.delay * 2, maxBackoff) : initialBackoff
          backoff = { refreshValue, until: t + delay, delay, error }
          if (mode.keepValidOnTransient && !expired(l, t)) {
            settle(s, t)
            return l
          }
          return yield* error
        }
        backoff = undefined
        permanent = undefined
        if (codexHome !== undefined) ReauthMarker.clear(codexHome)
        const at = new Date(t)
        const committed = yield* Effect.result(commitRefreshed(refreshValue, answer.success, at).pipe(
          Effect.retry({ schedule: Schedule.exponential(100, 3), times: 3, while: (e) => e._tag === "StorageError" })
        ))
        if (Result.isFailure(committed)) {
          if (committed.failure._tag !== "StorageError") return yield* committed.failure
          // Proved writable a moment ago, failing now (the disk filled up, …): keep the rotated
          // tokens in memory, serve them, and save them at the next read of the store.
          const kept = build(mergeRefreshed(sent, answer.success, at), yield* location)
          if (Result.isFailure(kept)) return yield* kept.failure
          unsaved = { refreshValue, answer: answer.success, at, loaded: kept.success, error: committed.failure }
          settle(setSnapshot(kept.success, "unsaved", t), t)
          yield* Effect.logWarning(
            `the refreshed credentials could not be saved (${committed.failure.userMessage}); codex-auth keeps them in memory and saves them as soon as the store takes them`
          )
          return kept.success
        }
        const commit = committed.success
        if (!commit.saved) return yield* changedDuringRefresh(sent, commit.current, answer.success.refreshToken, target, t)
        const next = build(commit.merged, yield* location)
        if (Result.isFailure(next)) return yield* next.failure
        const s2 = setSnapshot(next.success, commit.fingerprint, t)
        settle(s2, t)
        if (expired(next.success, t)) {
          return yield* new Errors.NetworkError({
            target: "the issuer's refresh response",
            detail: "the new access token is already expired",
            suggestion: "Check this machine's clock (codex-auth compares token expiry with it)."
          })
        }
        return next.success
      }))
    }), adoptWhileWaiting(mode.stale))

  /**
   * The stored credentials no longer hold the refresh token that was sent: keep them. Another
   * client refreshed the same session (the real Codex does, without a lock): serve its tokens.
   * Anything else replaced them: revoke what this refresh obtained, say so, serve what is stored.
   */
  const changedDuringRefresh = (
    sent: AuthDotJson.AuthDocument,
    current: AuthDotJson.AuthDocument | undefined,
    obtained: Redacted.Redacted<string> | undefined,
    target: { readonly issuer: string; readonly clientId: string },
    t: number
  ) =>
    Effect.gen(function*() {
      const same = current !== undefined && sameSession(sent, current)
      if (!same) {
        discarded++
        const what = current === undefined ? "they were removed (a logout)" : AuthDotJson.modeOf(current) === "apikey" ? "an API key was stored" : "another account signed in"
        const revoke = obtained === undefined || Redacted.value(obtained) === Redacted.value(sent.tokens!.refreshToken)
          ? Effect.void
          : transport.revoke({ token: obtained, tokenTypeHint: "refresh_token", ...target }).pipe(Effect.timeout(10_000), Effect.ignore)
        yield* revoke
        lastChange = `the stored credentials changed while a refresh was in flight (${what}); codex-auth kept them and revoked the refresh token it had just obtained`
        yield* Effect.logWarning(lastChange)
      }
      const s = yield* syncWithStore(t, true)
      if (s.loaded === undefined) {
        return yield* new Errors.NotLoggedIn({ detail: `${yield* location} was signed out while a token refresh was in flight` })
      }
      adopted += same ? 1 : 0
      settle(s, t)
      return s.loaded
    })

  /** Everything that is not the hot path, one fiber at a time. */
  const resolve: Effect.Effect<Loaded, AuthError> = lock.withPermits(1)(Effect.suspend(() => {
    const t = now()
    const current = snap
    if (current?.loaded !== undefined && t < current.fastUntil) return Effect.succeed(current.loaded)
    return Effect.gen(function*() {
      let s = current
      if (s === undefined || t - s.checkedAt >= interval || (s.loaded !== undefined && needsRefresh(s.loaded, t))) {
        s = yield* syncWithStore(t)
      }
      const l = s.loaded
      if (l === undefined) return yield* notLoggedIn()
      if (!needsRefresh(l, t)) {
        settle(s, t)
        return l
      }
      if (permanent !== undefined && permanent.refreshValue === l.refreshValue) return yield* permanent.error
      if (backoff !== undefined && backoff.refreshValue === l.refreshValue && t < backoff.until) {
        if (!expired(l, t)) {
          settle(s, t)
          return l
        }
        return yield* backoffError(backoff, t)
      }
      return yield* refreshLocked({ stale: undefined, keepValidOnTransient: true })
    })
  }))

  const slowToken = Effect.map(resolve, (l) => l.token)
  const slowHeaders = Effect.map(resolve, (l) => l.headers)

  const accessToken: Effect.Effect<Redacted.Redacted<string>, AuthError> = Effect.suspend(() => {
    const s = snap
    return s !== undefined && now() < s.fastUntil ? s.tokenEffect : slowToken
  })

  const authorizationHeaders: Effect.Effect<Readonly<Record<string, string>>, AuthError> = Effect.suspend(() => {
    const s = snap
    return s !== undefined && now() < s.fastUntil ? s.headersEffect : slowHeaders
  })

  const current: AuthManagerShape["current"] = Effect.suspend(() => {
    const s = snap
    const t = now()
    if (s?.loaded !== undefined && (fixedFromEnv !== undefined || t - s.checkedAt < interval)) return Effect.succeed(s.loaded.credentials)
    return lock.withPermits(1)(Effect.gen(function*() {
      const synced = yield* syncWithStore(t)
      if (synced.loaded === undefined) return yield* notLoggedIn()
      settle(synced, t)
      return synced.loaded.credentials
    }))
  })

  const refreshAfter401 = (staleToken: Redacted.Redacted<string>) =>
    lock.withPermits(1)(Effect.gen(function*() {
      const stale = Redacted.value(staleToken)
      if (fixedFromEnv !== undefined) return Option.none<Redacted.Redacted<string>>()
      const t = now()
      const s = yield* syncWithStore(t)
      const l = s.loaded
      if (l === undefined) return yield* notLoggedIn()
      if (l.tokenValue !== stale && (l.mode === "apikey" || !needsRefresh(l, t))) {
        adopted++
        settle(s, t)
        return Option.some(l.token)
      }
      if (l.mode === "apikey" || l.refreshValue === undefined) return Option.none<Redacted.Redacted<string>>()
      if (permanent !== undefined && permanent.refreshValue === l.refreshValue) return yield* permanent.error
      const next = yield* refreshLocked({ stale, keepValidOnTransient: false })
      return next.tokenValue !== stale ? Option.some(next.token) : Option.none<Redacted.Redacted<string>>()
    })).pipe(Effect.withSpan("AuthManager.refreshAfter401"))

  const cachedAccessToken = (): Redacted.Redacted<string> | undefined => {
    const s = snap
    return s !== undefined && now() < s.fastUntil ? s.loaded?.token : undefined
  }

  return AuthManager.of({
    current,
    accessToken,
    cachedAccessToken,
    authorizationHeaders,
    refreshAfter401,
    invalidate: Effect.sync(() => {
      if (fixedFromEnv === undefined) snap = undefined
    }),
    refreshStatus: Effect.sync((): RefreshStatus => {
      const t = now()
      const b = backoff !== undefined && t < backoff.until ? backoff : undefined
      return {
        reauthRequired: permanent?.error,
        lastError: b?.error,
        retryAt: b?.until,
        refreshRequests,
        adopted,
        discarded,
        credentialsChanged: lastChange,
        unsaved: unsaved?.error
      }
    })
  })
})

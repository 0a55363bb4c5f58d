/**
 * AuthManager with an in-memory store and a scripted refresh transport, on the TestClock (time
 * starts at the epoch): single flight (100 callers, 1 refresh), the proactive thresholds (5 min
 * before `exp`, 8 days after `last_refresh`), re-reading inside the lock, the 401 path, permanent
 * and transient failures (no replay, backoff), environment precedence, the startup policy check,
 * the hot path's I/O budget and the cross-process reauth marker.
 */
import { mkdtempSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, ConfigProvider, Context, Deferred, Effect, Exit, Fiber, Layer, Option, Redacted, Semaphore } from "effect"
import { TestClock } from "effect/testing"
import {
  AuthDotJson,
  AuthManager as AM,
  AuthPolicy,
  CredentialStore,
  Errors,
  ReauthMarker,
  RefreshTransport
} from "../src/index.ts"
import { idTokenFor, makeJwt } from "./fixtures.ts"

const { AuthManager } = AM
type Doc = AuthDotJson.AuthDocument

const MIN = 60_000
const DAY = 24 * 60 * MIN

/** An access token (JWT) expiring at `expMs`, recognisable by `label`. */
const accessToken = (label: string, expMs: number) =>
  makeJwt({ exp: Math.floor(expMs / 1000), jti: label, "https://api.openai.com/auth": { chatgpt_account_id: "acct-123" } })

const labelOf = (token: Redacted.Redacted<string>) => {
  const payload = JSON.parse(Buffer.from(Redacted.value(token).split(".")[1]!, "base64url").toString()) as { jti: string }
  return payload.jti
}

const chatgptDoc = (o: { access: string; expMs: number; refresh: string; lastRefreshMs?: number }): Doc => ({
  authMode: "chatgpt",
  apiKey: undefined,
  tokens: {
    idToken: Redacted.make(idTokenFor({ exp: 10 * 365 * 24 * 3600 })),
    accessToken: Redacted.make(accessToken(o.access, o.expMs)),
    refreshToken: Redacted.make(o.refresh),
    accountId: "acct-123",
    extra: { oauth_provenance: { issuer: "https://issuer.test", client_id: "app_test" }, login_owner_id: "owner-1" }
  },
  lastRefresh: new Date(o.lastRefreshMs ?? 0).toISOString(),
  extra: { agent_identity: { future: true } }
})

/** A memory store that counts I/O and can be changed behind the manager's back. */
const makeStore = (initial?: Doc) => {
  const state = {
    doc: initial,
    version: 0,
    loads: 0,
    fingerprints: 0,
    saves: 0,
    freezeFingerprint: false,
    /** Failures the next probes / saves answer with (the disk is full, …). */
    probeFailures: 0,
    saveFailures: 0
  }
  const full = (operation: "write") => new Errors.StorageError({ backend: "ephemeral", operation, location: "memory", detail: "no space left on the device" })
  const lock = Semaphore.makeUnsafe(1)
  const refreshLock = Semaphore.makeUnsafe(1)
  const shape = CredentialStore.CredentialStore.of({
    info: Effect.succeed({ mode: "ephemeral", backend: "ephemeral", location: "memory", fallbackReason: undefined }),
    load: Effect.sync(() => {
      state.loads++
      return Option.fromNullishOr(state.doc)
    }),
    save: (doc) =>
      Effect.suspend(() => {
        if (state.saveFailures > 0) {
          state.saveFailures--
          return Effect.fail(full("write"))
        }
        state.doc = doc
        state.version++
        state.saves++
        return Effect.void
      }),
    probeWrite: Effect.suspend(() => {
      if (state.probeFailures > 0) {
        state.probeFailures--
        return Effect.fail(full("write"))
      }
      return Effect.void
    }),
    remove: Effect.sync(() => {
      const had = state.doc !== undefined
      state.doc = undefined
      state.version++
      return { removed: had ? ["memory"] : [], absent: had ? [] : ["memory"], failed: [] }
    }),
    withLock: (self) => lock.withPermits(1)(self),
    withRefreshLock: (self) => refreshLock.withPermits(1)(self),
    fingerprint: Effect.sync(() => {
      state.fingerprints++
      return state.freezeFingerprint ? "frozen" : String(state.version)
    })
  })
  /** Another process writes the store. */
  const write = (doc: Doc | undefined) => {
    state.doc = doc
    state.version++
  }
  return { state, layer: Layer.succeed(CredentialStore.CredentialStore, shape), write }
}

type Step = (req: RefreshTransport.RefreshRequest) => Effect.Effect<RefreshTransport.RefreshedTokens, Errors.ReauthRequired | Errors.NetworkError>

/** A refresh transport that issues `at-N`/`rt-N` tokens valid for an hour, or follows a script. */
const makeTransport = () => {
  const calls: Array<RefreshTransport.RefreshRequest> = []
  const revokes: Array<RefreshTransport.RevokeRequest> = []
  const script: Array<Step> = []
  let gate: Deferred.Deferred<void> | undefined
  let n = 0
  const issue: Step = () =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      n++
      return {
        idToken: Redacted.make(idTokenFor({ exp: 10 * 365 * 24 * 3600 })),
        accessToken: Redacted.make(accessToken(`at-new-${n}`, now + 60 * MIN)),
        refreshToken: Redacted.make(`rt-new-${n}`)
      }
    })
  const shape = RefreshTransport.RefreshTransport.of({
    refresh: (req) =>
      Effect.gen(function*() {
        calls.push(req)
        if (gate !== undefined) yield* Deferred.await(gate)
        const step = script.shift() ?? issue
        return yield* step(req)
      }),
    revoke: (req) => Effect.sync(() => void revokes.push(req))
  })
  return {
    calls,
    revokes,
    issue,
    script,
    setGate: (d: Deferred.Deferred<void> | undefined) => (gate = d),
    layer: Layer.succeed(RefreshTransport.RefreshTransport, shape)
  }
}

/** Builds a manager over the given store/transport; reads the TestClock for "now". */
const managerLayer = (
  store: ReturnType<typeof makeStore>,
  transport: ReturnType<typeof makeTransport>,
  options: AM.AuthManagerOptions = {},
  env: Record<string, string> = {},
  policy: Layer.Layer<AuthPolicy.AuthPolicy> = AuthPolicy.AuthPolicy.layerAllowAll
) =>
  AuthManager.layerWith(options).pipe(
    Layer.provide(Layer.mergeAll(store.layer, transport.layer, policy)),
    Layer.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env)))
  )

const withManager = <A, E>(
  setup: { store: ReturnType<typeof makeStore>; transport: ReturnType<typeof makeTransport>; options?: AM.AuthManagerOptions; env?: Record<string, string> },
  body: (m: AM.AuthManagerShape) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(managerLayer(setup.store, setup.transport, setup.options, setup.env))
    const m = Context.get(context, AuthManager)
    return yield* body(m)
  }).pipe(Effect.scoped)

const advance = (ms: number) => TestClock.adjust(ms)

describe("AuthManager: proactive refresh", () => {
  it.effect("a fresh token is served without refresh, and the hot path does no I/O between change checks", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport, options: { enforcePolicy: false } }, (m) =>
        Effect.gen(function*() {
          assert.isUndefined(m.cachedAccessToken(), "nothing cached before the first call")
          for (let i = 0; i < 10_000; i++) assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          assert.strictEqual(labelOf(m.cachedAccessToken()!), "at-1")
          assert.strictEqual(store.state.loads, 1)
          assert.strictEqual(store.state.fingerprints, 1)
          yield* advance(300)
          assert.isUndefined(m.cachedAccessToken(), "change check due: the synchronous path declines")
          yield* m.accessToken
          yield* m.accessToken
          assert.strictEqual(store.state.fingerprints, 2, "one cheap change check after the interval")
          assert.strictEqual(store.state.loads, 1, "unchanged store is not re-read")
          assert.strictEqual(transport.calls.length, 0)
        }))
    }))

  it.effect("refreshes within 5 minutes of exp, not before; keeps unknown fields; writes last_refresh", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          yield* advance(55 * MIN - 1000)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          assert.strictEqual(transport.calls.length, 0)
          yield* advance(2000)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls.length, 1)
          const req = transport.calls[0]!
          assert.strictEqual(Redacted.value(req.refreshToken), "rt-1")
          assert.strictEqual(req.reason, "proactive_expiry")
          assert.strictEqual(req.issuer, "https://issuer.test")
          assert.strictEqual(req.clientId, "app_test")
          const saved = store.state.doc!
          assert.strictEqual(Redacted.value(saved.tokens!.refreshToken), "rt-new-1")
          assert.strictEqual(saved.lastRefresh, new Date(55 * MIN + 1000).toISOString())
          assert.deepStrictEqual(saved.extra, { agent_identity: { future: true } })
          assert.deepStrictEqual(saved.tokens!.extra, { oauth_provenance: { issuer: "https://issuer.test", client_id: "app_test" }, login_owner_id: "owner-1" })
          assert.strictEqual(saved.tokens!.accountId, "acct-123")
        }))
    }))

  it.effect("refreshes when last_refresh is older than 8 days even if the access token is valid", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 30 * DAY, refresh: "rt-1", lastRefreshMs: 0 }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          yield* advance(8 * DAY - MIN)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          assert.strictEqual(transport.calls.length, 0)
          yield* advance(2 * MIN)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls[0]!.reason, "stale_last_refresh")
        }))
    }))

  it.effect("100 concurrent callers on an expired token share one refresh", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      const gate = yield* Deferred.make<void>()
      transport.setGate(gate)
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.forkChild(Effect.forEach(Array.from({ length: 100 }, (_, i) => i), () => m.accessToken, { concurrency: "unbounded" }))
          while (transport.calls.length === 0) yield* Effect.yieldNow
          for (let i = 0; i < 50; i++) yield* Effect.yieldNow
          yield* Deferred.succeed(gate, undefined)
          const tokens = yield* Fiber.join(fiber)
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual(new Set(tokens.map(labelOf)).size, 1)
          assert.strictEqual(labelOf(tokens[0]!), "at-new-1")
          assert.strictEqual(store.state.saves, 1)
        }))
    }))

  it.effect("re-reads the store inside the lock and adopts a token another process wrote (no POST)", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 10 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          // The fingerprint lies (e.g. a coarse mtime): only the read inside the lock sees the new token.
          store.state.freezeFingerprint = true
          yield* m.invalidate
          yield* m.accessToken
          store.write(chatgptDoc({ access: "at-other", expMs: 70 * MIN, refresh: "rt-other", lastRefreshMs: 6 * MIN }))
          yield* advance(6 * MIN)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-other")
          assert.strictEqual(transport.calls.length, 0)
          assert.strictEqual((yield* m.refreshStatus).adopted, 1)
        }))
    }))

  it.effect("a change written by another process is picked up after the check interval", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          store.write(chatgptDoc({ access: "at-2", expMs: 60 * MIN, refresh: "rt-2" }))
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          yield* advance(251)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-2")
          store.write(undefined)
          yield* advance(251)
          const error = yield* Effect.flip(m.accessToken)
          assert.strictEqual(error._tag, "NotLoggedIn")
        }))
    }))
})

describe("AuthManager: 401", () => {
  it.effect("adopts a newer stored token without a POST", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const stale = yield* m.accessToken
          store.write(chatgptDoc({ access: "at-2", expMs: 60 * MIN, refresh: "rt-2" }))
          const next = yield* m.refreshAfter401(stale)
          assert.strictEqual(labelOf(Option.getOrThrow(next)), "at-2")
          assert.strictEqual(transport.calls.length, 0)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-2")
        }))
    }))

  it.effect("refreshes once with reason unauthorized when the store still holds the rejected token; concurrent 401s share it", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const stale = yield* m.accessToken
          const results = yield* Effect.forEach(Array.from({ length: 10 }), () => m.refreshAfter401(stale), { concurrency: "unbounded" })
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual(transport.calls[0]!.reason, "unauthorized")
          for (const r of results) assert.strictEqual(labelOf(Option.getOrThrow(r)), "at-new-1")
        }))
    }))

  it.effect("an API key has nothing to refresh: None", () =>
    Effect.gen(function*() {
      const store = makeStore(AuthDotJson.fromApiKey(Redacted.make("sk-test-123456789")))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const key = yield* m.accessToken
          assert.strictEqual(Redacted.value(key), "sk-test-123456789")
          assert.deepStrictEqual(yield* m.authorizationHeaders, { authorization: "Bearer sk-test-123456789" })
          assert.isTrue(Option.isNone(yield* m.refreshAfter401(key)))
          assert.strictEqual(transport.calls.length, 0)
        }))
    }))
})

describe("AuthManager: failures", () => {
  it.effect("permanent failure → ReauthRequired, remembered (no second POST) until the stored refresh token changes", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      transport.script.push(() => Effect.fail(new Errors.ReauthRequired({ reason: "refresh_token_reused" })))
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const e1 = yield* Effect.flip(m.accessToken)
          assert.strictEqual(e1._tag, "ReauthRequired")
          assert.strictEqual(e1.exitCode, 3)
          yield* advance(10 * MIN)
          const e2 = yield* Effect.flip(m.accessToken)
          assert.strictEqual(e2._tag, "ReauthRequired")
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual((yield* m.refreshStatus).reauthRequired?.reason, "refresh_token_reused")
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-1", "credentials are kept")
          store.write(chatgptDoc({ access: "at-2", expMs: 20 * MIN, refresh: "rt-2", lastRefreshMs: 10 * MIN }))
          yield* advance(251)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-2")
        }))
    }))

  it.effect("transient failure with a still-valid token: keep it, back off (5 s, then 10 s), never resend meanwhile", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 3 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      const net = () => Effect.fail(new Errors.NetworkError({ target: "POST https://issuer.test/oauth/token", detail: "HTTP 503" }))
      transport.script.push(net, net)
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          assert.strictEqual(transport.calls.length, 1)
          for (let i = 0; i < 100; i++) assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          yield* advance(4_900)
          yield* m.accessToken
          assert.strictEqual(transport.calls.length, 1, "no POST during the backoff")
          const status = yield* m.refreshStatus
          assert.strictEqual(status.lastError?._tag, "NetworkError")
          yield* advance(200)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-1")
          assert.strictEqual(transport.calls.length, 2)
          yield* advance(9_900)
          yield* m.accessToken
          assert.strictEqual(transport.calls.length, 2, "second backoff is 10 s")
          yield* advance(200)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls.length, 3)
          assert.isUndefined((yield* m.refreshStatus).lastError)
        }))
    }))

  it.effect("transient failure with an expired token: NetworkError (exit 6), no replay until the backoff passes", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      transport.script.push(() => Effect.fail(new Errors.NetworkError({ target: "POST x", detail: "timeout" })))
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const e1 = yield* Effect.flip(m.accessToken)
          assert.strictEqual(e1._tag, "NetworkError")
          assert.strictEqual(e1.exitCode, 6)
          const e2 = yield* Effect.flip(m.accessToken)
          assert.strictEqual(e2._tag, "NetworkError")
          assert.include(e2.userMessage, "not retried")
          assert.strictEqual(transport.calls.length, 1)
          // Meanwhile another process refreshed: adopted at once, no POST.
          store.write(chatgptDoc({ access: "at-other", expMs: 60 * MIN, refresh: "rt-other" }))
          assert.strictEqual(labelOf(yield* m.accessToken), "at-other")
          assert.strictEqual(transport.calls.length, 1)
        }))
    }))
})

describe("AuthManager: credentials changed while the refresh POST was in flight", () => {
  /** A refresh answer after `meanwhile` changed the store (another process, during the POST). */
  const answerAfter = (transport: ReturnType<typeof makeTransport>, meanwhile: () => void): Step => (req) =>
    Effect.flatMap(Effect.sync(meanwhile), () => transport.issue(req))

  it.effect("another account signed in: kept, not overwritten; the refresh token just obtained is revoked; its token is served", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      const other: Doc = {
        ...chatgptDoc({ access: "at-other", expMs: 60 * MIN, refresh: "rt-other" }),
        tokens: { ...chatgptDoc({ access: "at-other", expMs: 60 * MIN, refresh: "rt-other" }).tokens!, idToken: Redacted.make(idTokenFor({ exp: 10 * 365 * 24 * 3600, userId: "user-other" })), accountId: "acct-other" }
      }
      transport.script.push(answerAfter(transport, () => store.write(other)))
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-other")
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual(store.state.saves, 0, "nothing written over the other account")
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-other")
          assert.deepStrictEqual(transport.revokes.map((r) => [Redacted.value(r.token), r.tokenTypeHint, r.issuer]), [["rt-new-1", "refresh_token", "https://issuer.test"]])
          const status = yield* m.refreshStatus
          assert.strictEqual(status.discarded, 1)
          assert.include(status.credentialsChanged ?? "", "another account signed in")
        }))
    }))

  it.effect("a store that cannot take a save (probe fails): no refresh POST, the StorageError (exit 5); the stored token stays unspent", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" }))
      store.state.probeFailures = 1
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          yield* advance(2 * MIN)
          const error = yield* Effect.flip(m.accessToken)
          assert.strictEqual(error._tag, "StorageError")
          assert.strictEqual(error.exitCode, 5)
          assert.strictEqual(transport.calls.length, 0, "no refresh token spent")
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-1")
          // Once the store takes saves again, the next call refreshes.
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls.length, 1)
        }))
    }))

  it.effect("a save that fails after the POST (and its 3 retries): the rotated tokens are served from memory and saved at the next read", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" }))
      store.state.saveFailures = 4
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          yield* advance(2 * MIN)
          const fiber = yield* Effect.forkChild(m.accessToken)
          yield* advance(5_000)
          assert.strictEqual(labelOf(yield* Fiber.join(fiber)), "at-new-1")
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual(store.state.saves, 0)
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-1", "the store still holds the old token")
          const status = yield* m.refreshStatus
          assert.include(status.unsaved?.userMessage ?? "", "no space left")
          // The next read of the store saves what was kept; no second POST.
          yield* advance(1_000)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          yield* m.invalidate
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls.length, 1)
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-new-1")
          assert.isUndefined((yield* m.refreshStatus).unsaved)
        }))
    }))

  it.effect("an API key stored meanwhile is kept and served; a logout meanwhile ends in NotLoggedIn; both revoke", () =>
    Effect.gen(function*() {
      for (const [replacement, expectKey] of [[{ authMode: "apikey", apiKey: Redacted.make("sk-new"), tokens: undefined, lastRefresh: undefined, extra: {} } as Doc, true], [undefined, false]] as const) {
        const store = makeStore(chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" }))
        const transport = makeTransport()
        transport.script.push(answerAfter(transport, () => store.write(replacement)))
        yield* withManager({ store, transport }, (m) =>
          Effect.gen(function*() {
            const result = yield* Effect.exit(m.accessToken)
            if (expectKey) {
              assert.isTrue(Exit.isSuccess(result))
              assert.strictEqual(Redacted.value((result as Exit.Success<Redacted.Redacted<string>>).value), "sk-new")
              assert.include((yield* m.refreshStatus).credentialsChanged ?? "", "an API key was stored")
            } else {
              assert.isTrue(Exit.isFailure(result))
              assert.include(String(Cause.squash((result as Exit.Failure<unknown, unknown>).cause)), "signed out while a token refresh was in flight")
            }
            assert.strictEqual(store.state.saves, 0)
            assert.strictEqual(store.state.doc, replacement)
            assert.deepStrictEqual(transport.revokes.map((r) => Redacted.value(r.token)), ["rt-new-1"])
          }))
      }
    }))

  it.effect("the same session refreshed by another client (the real Codex, unlocked): its tokens are adopted, nothing revoked", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      transport.script.push(answerAfter(transport, () => store.write(chatgptDoc({ access: "at-codex", expMs: 60 * MIN, refresh: "rt-codex" }))))
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-codex")
          assert.strictEqual(store.state.saves, 0)
          assert.strictEqual(transport.revokes.length, 0, "revoking could end the session both share")
          const status = yield* m.refreshStatus
          assert.strictEqual(status.discarded, 0)
          assert.isUndefined(status.credentialsChanged)
        }))
    }))

  it.effect("a change that keeps the refresh token sent (another field) is merged into what is stored now", () =>
    Effect.gen(function*() {
      const base = chatgptDoc({ access: "at-1", expMs: 1 * MIN, refresh: "rt-1" })
      const store = makeStore(base)
      const transport = makeTransport()
      transport.script.push(answerAfter(transport, () => store.write({ ...base, extra: { ...base.extra, added_meanwhile: true } })))
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(store.state.saves, 1)
          assert.strictEqual(Redacted.value(store.state.doc!.tokens!.refreshToken), "rt-new-1")
          assert.strictEqual((store.state.doc!.extra as Record<string, unknown>)["added_meanwhile"], true)
          assert.strictEqual(transport.revokes.length, 0)
        }))
    }))
})

describe("AuthManager: transport defects", () => {
  it.effect("a defect from the transport (the CLI's fast-path hand-off) changes nothing: no save, no backoff, no marker; the next call POSTs", () =>
    Effect.gen(function*() {
      const codexHome = mkdtempSync(join(tmpdir(), "codex-auth-am-"))
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      transport.script.push(() => Effect.die(new Error("hand off")))
      yield* withManager({ store, transport, options: { codexHome } }, (m) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(m.accessToken)
          assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
          assert.strictEqual(store.state.saves, 0)
          assert.isFalse(existsSync(ReauthMarker.markerPath(codexHome)))
          const status = yield* m.refreshStatus
          assert.isUndefined(status.lastError)
          assert.isUndefined(status.reauthRequired)
          assert.strictEqual(labelOf(yield* m.accessToken), "at-new-1")
          assert.strictEqual(transport.calls.length, 2)
        }))
    }))
})

describe("AuthManager: credentials and environment", () => {
  it.effect("current and authorizationHeaders for ChatGPT", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const c = yield* m.current
          assert.strictEqual(c.source, "store")
          assert.strictEqual(c.mode, "chatgpt")
          assert.strictEqual(c.accountId, "acct-123")
          assert.strictEqual(c.claims?.email, "user@example.com")
          assert.strictEqual(c.refreshDueAt, 55 * MIN)
          assert.strictEqual(c.issuer, "https://issuer.test")
          const h = yield* m.authorizationHeaders
          assert.strictEqual(h["chatgpt-account-id"], "acct-123")
          assert.match(h["authorization"]!, /^Bearer ey/)
          assert.notInclude(JSON.stringify(c), "rt-1")
        }))
    }))

  it.effect("CODEX_API_KEY wins over CODEX_ACCESS_TOKEN and the store; never refreshed", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport, env: { CODEX_API_KEY: " sk-env-1 ", CODEX_ACCESS_TOKEN: accessToken("env-at", 60 * MIN) } }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(Redacted.value(yield* m.accessToken), "sk-env-1")
          assert.strictEqual((yield* m.current).source, "env:CODEX_API_KEY")
          assert.strictEqual(transport.calls.length, 0)
          assert.strictEqual(store.state.loads, 1, "only the startup policy check read the store")
        }))
    }))

  for (const [name, value, problem] of [
    ["CODEX_API_KEY", "sk-env\u001b]0;pwned\u0007", "contains control characters"],
    ["CODEX_ACCESS_TOKEN", "at-env one", "contains whitespace"]
  ] as const) {
    it.effect(`${name} that ${problem} is refused (usage error, exit 2), never used, and the store is untouched`, () =>
      Effect.gen(function*() {
        const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
        const transport = makeTransport()
        const exit = yield* Effect.exit(withManager({ store, transport, env: { [name]: value } }, (m) => m.accessToken))
        assert.isTrue(Exit.isFailure(exit))
        const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
        assert.instanceOf(error, Errors.UsageError)
        const usage = error as Errors.UsageError
        assert.strictEqual(usage.exitCode, 2)
        assert.include(usage.userMessage, `${name} ${problem}`)
        assert.notInclude(usage.userMessage + (usage.hint ?? ""), value)
        assert.include(usage.hint ?? "", `unset it`)
        assert.strictEqual(transport.calls.length, 0)
        assert.strictEqual(store.state.saves, 0)
      }))
  }

  it.effect("CODEX_ACCESS_TOKEN wins over the store; its claims give the account id", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* withManager({ store, transport, env: { CODEX_ACCESS_TOKEN: accessToken("env-at", 60 * MIN) } }, (m) =>
        Effect.gen(function*() {
          assert.strictEqual(labelOf(yield* m.accessToken), "env-at")
          const c = yield* m.current
          assert.strictEqual(c.source, "env:CODEX_ACCESS_TOKEN")
          assert.strictEqual((yield* m.authorizationHeaders)["chatgpt-account-id"], "acct-123")
          assert.isTrue(Option.isNone(yield* m.refreshAfter401(yield* m.accessToken)))
          assert.strictEqual(transport.calls.length, 0)
        }))
    }))

  it.effect("empty store → NotLoggedIn (exit 1)", () =>
    Effect.gen(function*() {
      const store = makeStore()
      const transport = makeTransport()
      yield* withManager({ store, transport }, (m) =>
        Effect.gen(function*() {
          const e = yield* Effect.flip(m.accessToken)
          assert.strictEqual(e._tag, "NotLoggedIn")
          assert.strictEqual(e.exitCode, 1)
        }))
    }))
})

describe("AuthManager: startup policy", () => {
  const apiOnly = Layer.succeed(AuthPolicy.AuthPolicy, AuthPolicy.AuthPolicy.of({
    forcedLoginMethod: { value: "api", source: "/etc/codex/managed_config.toml" },
    forcedWorkspaceIds: undefined,
    deviceAuthAllowed: { value: true, source: "default" },
    checkLogin: () => Effect.void,
    checkCredentials: (doc) =>
      AuthDotJson.modeOf(doc) === "chatgpt"
        ? Effect.fail(new Errors.PolicyViolation({ rule: "forced_login_method", source: "/etc/codex/managed_config.toml", detail: "ChatGPT credentials are not allowed", loggedOut: false }))
        : Effect.void
  }))

  it.effect("violating stored credentials are purged and the layer fails with PolicyViolation(loggedOut)", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      const exit = yield* Effect.exit(Effect.scoped(Layer.build(managerLayer(store, transport, {}, {}, apiOnly))))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? (Cause.squash(exit.cause) as Errors.PolicyViolation) : undefined
      assert.strictEqual(error?._tag, "PolicyViolation")
      assert.isTrue(error?.loggedOut)
      assert.isUndefined(store.state.doc)
    }))

  it.effect("enforcePolicy: false leaves them (the CLI enforces at startup itself)", () =>
    Effect.gen(function*() {
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: 60 * MIN, refresh: "rt-1" }))
      const transport = makeTransport()
      yield* Effect.scoped(Layer.build(managerLayer(store, transport, { enforcePolicy: false }, {}, apiOnly)))
      assert.isDefined(store.state.doc)
    }))
})

describe("AuthManager: cross-process reauth marker", () => {
  it.effect("a permanent failure writes the marker; another manager fails fast without a POST; success clears it", () =>
    Effect.gen(function*() {
      const codexHome = mkdtempSync(join(tmpdir(), "codex-auth-am-"))
      const store = makeStore(chatgptDoc({ access: "at-1", expMs: -MIN, refresh: "rt-1" }))
      const t1 = makeTransport()
      t1.script.push(() => Effect.fail(new Errors.ReauthRequired({ reason: "refresh_token_expired" })))
      yield* withManager({ store, transport: t1, options: { codexHome } }, (m) => Effect.flip(m.accessToken))
      const marker = ReauthMarker.activeFor(codexHome, store.state.doc)
      assert.strictEqual(marker?.reason, "refresh_token_expired")

      const t2 = makeTransport()
      const e = yield* withManager({ store, transport: t2, options: { codexHome } }, (m) => Effect.flip(m.accessToken))
      assert.strictEqual(e._tag, "ReauthRequired")
      assert.strictEqual(t2.calls.length, 0)

      // A new sign-in (new refresh token): the old marker no longer applies; the refresh clears it.
      store.write(chatgptDoc({ access: "at-2", expMs: -MIN, refresh: "rt-2" }))
      assert.isUndefined(ReauthMarker.activeFor(codexHome, store.state.doc))
      const t3 = makeTransport()
      const token = yield* withManager({ store, transport: t3, options: { codexHome } }, (m) => m.accessToken)
      assert.strictEqual(labelOf(token), "at-new-1")
      assert.isFalse(existsSync(ReauthMarker.markerPath(codexHome)))
    }))
})

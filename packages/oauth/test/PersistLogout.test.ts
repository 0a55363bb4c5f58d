/**
 * After the exchange: the document Codex writes (with `oauth_provenance`), the policy check
 * before anything is stored (a refused grant is revoked), revocation of the superseded refresh
 * token after the save; and logout: revocation of the refresh token (else the access token) at
 * the issuer it came from, best-effort, with every store purged whatever happens.
 */
import { AuthDotJson, AuthPolicy, CredentialStore, Errors } from "@codex-auth/core"
import { MemoryStore } from "@codex-auth/storage"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as Logout from "../src/Logout.ts"
import * as Persist from "../src/Persist.ts"
import * as RefreshTransport from "../src/RefreshTransport.ts"
import type { TokenSet } from "../src/TokenEndpoint.ts"
import { withMock } from "./support/mock.ts"

const asTokenSet = (t: { id_token: string; access_token: string; refresh_token: string }): TokenSet => ({
  idToken: Redacted.make(t.id_token),
  accessToken: Redacted.make(t.access_token),
  refreshToken: Redacted.make(t.refresh_token)
})

const refusing = Layer.succeed(AuthPolicy.AuthPolicy, AuthPolicy.AuthPolicy.of({
  forcedLoginMethod: undefined,
  forcedWorkspaceIds: { value: ["ws-only"], source: "override: -c" },
  deviceAuthAllowed: { value: true, source: "default" },
  checkLogin: () => Effect.void,
  checkCredentials: () => Effect.fail(new Errors.PolicyViolation({ rule: "forced_chatgpt_workspace_id", source: "override: -c", detail: "the workspace is not allowed", loggedOut: false }))
}))

describe("Persist.persist", () => {
  it.live("stores Codex's document with provenance, then revokes the superseded refresh token", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const provenance = { issuer: mock.url, clientId: "app_EMoamEEZ73f0CkXaXp7hrann" }
        const first = yield* mock.control.mintTokens({ email: "team@example.com" })
        const r1 = yield* Persist.persist({ tokens: asTokenSet(first), provenance })
        assert.isUndefined(r1.superseded)
        assert.strictEqual(r1.claims?.email, "team@example.com")
        const json = AuthDotJson.toJsonValue(r1.doc) as any
        assert.strictEqual(json.auth_mode, "chatgpt")
        assert.strictEqual(json.OPENAI_API_KEY, null)
        assert.deepStrictEqual(json.tokens.oauth_provenance, { issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
        assert.strictEqual(json.tokens.account_id, first.account_id)

        const second = yield* mock.control.mintTokens({ email: "user@example.com" })
        const r2 = yield* Persist.persist({ tokens: asTokenSet(second), apiKey: Redacted.make("sk-new"), provenance })
        assert.deepStrictEqual(r2.superseded, { _tag: "Revoked", tokenType: "refresh_token" })
        assert.strictEqual(mock.engine.refreshTokenState(first.refresh_token), "revoked")
        assert.strictEqual(mock.engine.refreshTokenState(second.refresh_token), "active")
        const stored = yield* (yield* CredentialStore.CredentialStore).load
        assert.strictEqual(Redacted.value(Option.getOrThrow(stored).apiKey!), "sk-new")
      }).pipe(Effect.provide(Layer.merge(MemoryStore.layer(), AuthPolicy.AuthPolicy.layerAllowAll)))))

  it.live("a policy violation stores nothing and revokes the refused grant", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const tokens = yield* mock.control.mintTokens({})
        const exit = yield* Effect.exit(Persist.persist({ tokens: asTokenSet(tokens), provenance: { issuer: mock.url, clientId: "app_EMoamEEZ73f0CkXaXp7hrann" } }))
        assert.isTrue(Exit.isFailure(exit))
        const store = yield* CredentialStore.CredentialStore
        assert.isTrue(Option.isNone(yield* store.load))
        assert.strictEqual(mock.engine.refreshTokenState(tokens.refresh_token), "revoked")
      }).pipe(Effect.provide(Layer.merge(MemoryStore.layer(), refusing)))))

  it.live("a failed revocation of the superseded token never costs the new login", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const provenance = { issuer: mock.url, clientId: "app_EMoamEEZ73f0CkXaXp7hrann" }
        yield* Persist.persist({ tokens: asTokenSet(yield* mock.control.mintTokens({})), provenance })
        yield* mock.control.setFaults("revoke", [{ status: 503 }])
        const next = yield* mock.control.mintTokens({})
        const r = yield* Persist.persist({ tokens: asTokenSet(next), provenance })
        assert.strictEqual(r.superseded?._tag, "Failed")
        const stored = yield* (yield* CredentialStore.CredentialStore).load
        assert.strictEqual(Redacted.value(Option.getOrThrow(stored).tokens!.refreshToken), next.refresh_token)
      }).pipe(Effect.provide(Layer.merge(MemoryStore.layer(), AuthPolicy.AuthPolicy.layerAllowAll)))))
})

const chatgptDoc = (t: { id_token: string; access_token: string; refresh_token: string }, issuer: string | undefined) =>
  AuthDotJson.fromChatGptTokens({
    ...asTokenSet(t),
    provenance: issuer === undefined ? undefined : { issuer, clientId: "app_EMoamEEZ73f0CkXaXp7hrann" },
    now: new Date()
  })

describe("Logout.logout", () => {
  it.live("revokes the refresh token at the issuer in oauth_provenance and purges the store", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const tokens = yield* mock.control.mintTokens({})
        const report = yield* Logout.logout({ localOnly: false, fallback: { issuer: "https://unused.example", clientId: "x" } }).pipe(
          Effect.provide(MemoryStore.layer(chatgptDoc(tokens, mock.url)))
        )
        assert.deepStrictEqual(report.revocation, { _tag: "Revoked", tokenType: "refresh_token" })
        assert.strictEqual(report.issuer, mock.url)
        assert.strictEqual(report.revokeUrl, `${mock.url}/oauth/revoke`)
        assert.deepStrictEqual(report.removed, ["memory"])
        assert.strictEqual(report.mode, "chatgpt")
        assert.strictEqual(mock.engine.refreshTokenState(tokens.refresh_token), "revoked")
        const revoke = (yield* mock.requests).find((r) => r.kind === "revoke")!
        assert.include(revoke.headers["content-type"] ?? "", "application/json")
        assert.strictEqual((revoke.body as Record<string, string>)["token_type_hint"], "refresh_token")
      })))

  it.live("the report names the URL actually contacted: CODEX_REVOKE_TOKEN_URL_OVERRIDE wins over the provenance issuer", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const tokens = yield* mock.control.mintTokens({})
        const report = yield* Logout.logout({ localOnly: false, fallback: { issuer: "https://unused.example", clientId: "x" } }).pipe(
          Effect.provide(
            // The transport reads the override from the same provider as the report.
            Layer.mergeAll(MemoryStore.layer(chatgptDoc(tokens, "https://provenance.example")), RefreshTransport.layerWith({ revokeTimeout: "3 seconds" })).pipe(
              Layer.provideMerge(ConfigProvider.layer(ConfigProvider.fromUnknown({ CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke?x=secret` })))
            )
          )
        )
        assert.deepStrictEqual(report.revocation, { _tag: "Revoked", tokenType: "refresh_token" })
        assert.strictEqual(report.issuer, "https://provenance.example")
        assert.strictEqual(report.revokeUrl, `${mock.url}/oauth/revoke`)
        assert.isTrue((yield* mock.requests).some((r) => r.kind === "revoke"))
      })))

  it.live("without a refresh token the access token is revoked; without provenance the fallback issuer is used", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const tokens = yield* mock.control.mintTokens({})
        const report = yield* Logout.logout({ localOnly: false, fallback: { issuer: mock.url, clientId: "app_EMoamEEZ73f0CkXaXp7hrann" } }).pipe(
          Effect.provide(MemoryStore.layer(chatgptDoc({ ...tokens, refresh_token: "" }, undefined)))
        )
        assert.deepStrictEqual(report.revocation, { _tag: "Revoked", tokenType: "access_token" })
        const revoke = (yield* mock.requests).find((r) => r.kind === "revoke")!
        assert.strictEqual((revoke.body as Record<string, string>)["token_type_hint"], "access_token")
      })))

  it.live("an unreachable or failing issuer is reported, and the store is purged anyway; --local-only sends nothing", () =>
    withMock({}, (mock) =>
      Effect.gen(function*() {
        const tokens = yield* mock.control.mintTokens({})
        yield* mock.control.setFaults("revoke", [{ status: 503 }])
        const failed = yield* Logout.logout({ localOnly: false, fallback: { issuer: mock.url, clientId: "x" } }).pipe(
          Effect.provide(MemoryStore.layer(chatgptDoc(tokens, mock.url)))
        )
        assert.strictEqual(failed.revocation._tag, "Failed")
        assert.include((failed.revocation as { detail: string }).detail, "503")
        assert.deepStrictEqual(failed.removed, ["memory"])

        yield* mock.control.clearRequests
        const local = yield* Logout.logout({ localOnly: true, fallback: { issuer: mock.url, clientId: "x" } }).pipe(
          Effect.provide(MemoryStore.layer(chatgptDoc(tokens, mock.url)))
        )
        assert.deepStrictEqual(local.revocation, { _tag: "Skipped", reason: "local_only" })
        assert.deepStrictEqual(local.removed, ["memory"])
        assert.strictEqual((yield* mock.requests).length, 0)

        const apiKey = yield* Logout.logout({ localOnly: false, fallback: { issuer: mock.url, clientId: "x" } }).pipe(
          Effect.provide(MemoryStore.layer(AuthDotJson.fromApiKey(Redacted.make("sk-test-123456789"))))
        )
        assert.deepStrictEqual(apiKey.revocation, { _tag: "Skipped", reason: "api_key" })

        const hostile = yield* Logout.logout({ localOnly: false, fallback: { issuer: mock.url, clientId: "x" } }).pipe(
          Effect.provide(MemoryStore.layer(chatgptDoc(tokens, "http://evil.example")))
        )
        assert.strictEqual(hostile.revocation._tag === "Skipped" && hostile.revocation.reason, "unusable_issuer")
        assert.strictEqual((yield* mock.requests).length, 0)
      })))
})

import { assert, describe, it } from "@effect/vitest"
import { createPublicKey, verify } from "node:crypto"
import { afterAll, beforeAll } from "vitest"
import { fingerprint, type RunningMockIssuer, startMockIssuer } from "../src/index.ts"
import { CLIENT_ID, http, jwtPayload, postForm, postJson, refresh, type Res } from "./helpers.ts"

let m: RunningMockIssuer
let strict: RunningMockIssuer

beforeAll(async () => {
  m = await startMockIssuer({ config: { tokens: { reuseGraceMs: 300 } } })
  strict = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0, accessTokenTtlSeconds: 600 } } })
})
afterAll(async () => {
  await m.close()
  await strict.close()
})

const errorCode = async (res: Res): Promise<string | undefined> => {
  const body = await res.json()
  return typeof body.error === "string" ? body.error : body.error?.code
}

describe("tokens", () => {
  it("ID and access tokens are RS256 JWTs that verify against the JWKS named in discovery", async () => {
    const discovery = await (await http(`${m.url}/.well-known/openid-configuration`)).json()
    assert.strictEqual(discovery.issuer, m.url)
    assert.deepStrictEqual(discovery.code_challenge_methods_supported, ["S256"])
    const jwks = await (await http(discovery.jwks_uri)).json()
    const tokens = await m.control.mintTokens({})
    for (const jwt of [tokens.id_token, tokens.access_token]) {
      const [h, p, s] = jwt.split(".") as [string, string, string]
      const header = JSON.parse(Buffer.from(h, "base64url").toString())
      assert.strictEqual(header.alg, "RS256")
      const jwk = jwks.keys.find((k: { kid: string }) => k.kid === header.kid)
      assert.isDefined(jwk)
      assert.isTrue(verify("sha256", Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url")))
      const tampered = Buffer.from(JSON.stringify({ ...jwtPayload(jwt), email: "evil@example.com" })).toString("base64url")
      assert.isFalse(verify("sha256", Buffer.from(`${h}.${tampered}`), createPublicKey({ key: jwk, format: "jwk" }), Buffer.from(s, "base64url")))
    }
  })

  it("ID token carries the OpenAI claims and a realistic exp", async () => {
    const tokens = await m.control.mintTokens({ email: "team@example.com", workspaceId: "33333333-3333-4333-8333-333333333333" })
    const c = jwtPayload(tokens.id_token)
    assert.strictEqual(c.iss, m.url)
    assert.deepStrictEqual(c.aud, [CLIENT_ID])
    assert.strictEqual(c.email, "team@example.com")
    const now = Math.floor(Date.now() / 1000)
    assert.approximately(c.exp - c.iat, 3600, 1)
    assert.approximately(c.iat, now, 5)
    const auth = c["https://api.openai.com/auth"]
    assert.strictEqual(auth.chatgpt_account_id, "33333333-3333-4333-8333-333333333333")
    assert.strictEqual(auth.chatgpt_plan_type, "enterprise")
    assert.match(auth.chatgpt_user_id, /^user-/)
    assert.strictEqual(auth.user_id, auth.chatgpt_user_id)
    assert.strictEqual(c.sub, auth.chatgpt_user_id)
    assert.isTrue(Array.isArray(auth.organizations) && auth.organizations.length === 1)
    assert.hasAllKeys(auth.organizations[0], ["id", "title", "role", "is_default"])
    assert.strictEqual(tokens.account_id, auth.chatgpt_account_id)
    const access = jwtPayload(tokens.access_token)
    assert.strictEqual(access["https://api.openai.com/auth"].chatgpt_account_id, auth.chatgpt_account_id)
    assert.approximately(access.exp - access.iat, 3600, 1)
    assert.match(tokens.refresh_token, /^rt_[A-Za-z0-9_-]{40,}$/)
  })

  it("mint with a negative access TTL gives an already-expired access token", async () => {
    const tokens = await m.control.mintTokens({ accessTokenTtlSeconds: -60 })
    assert.isBelow(jwtPayload(tokens.access_token).exp * 1000, Date.now())
  })
})

describe("refresh_token grant", () => {
  it("accepts Codex's JSON body and a form body; rotates the refresh token every time", async () => {
    const t0 = await m.control.mintTokens({})
    const r1 = await refresh(m.url, t0.refresh_token)
    assert.strictEqual(r1.status, 200)
    const t1 = await r1.json()
    assert.notStrictEqual(t1.refresh_token, t0.refresh_token)
    assert.notStrictEqual(t1.access_token, t0.access_token)
    assert.strictEqual(jwtPayload(t1.id_token).email, "user@example.com")
    const r2 = await postForm(`${m.url}/oauth/token`, { grant_type: "refresh_token", client_id: CLIENT_ID, refresh_token: t1.refresh_token })
    assert.strictEqual(r2.status, 200)
    const t2 = await r2.json()
    assert.notStrictEqual(t2.refresh_token, t1.refresh_token)
    assert.strictEqual(m.engine.refreshTokenState(t1.refresh_token), "rotated")
    assert.strictEqual(m.engine.refreshTokenState(t2.refresh_token), "active")
  })

  it("a reuse inside the grace window gets the same rotated answer (Codex sends the same token up to 4 times)", async () => {
    const t0 = await m.control.mintTokens({})
    const answers = await Promise.all([1, 2, 3, 4].map(() => refresh(m.url, t0.refresh_token).then((r) => r.json())))
    assert.strictEqual(new Set(answers.map((a) => a.refresh_token)).size, 1)
    assert.strictEqual(m.engine.refreshTokenState(answers[0].refresh_token), "active")
  })

  it("a reuse after the grace window → 401 refresh_token_reused, and the whole family is revoked", async () => {
    const t0 = await strict.control.mintTokens({})
    const t1 = await (await refresh(strict.url, t0.refresh_token)).json()
    const reused = await refresh(strict.url, t0.refresh_token)
    assert.strictEqual(reused.status, 401)
    const body = await reused.json()
    assert.strictEqual(body.error.code, "refresh_token_reused")
    assert.strictEqual(body.error.type, "invalid_request_error")
    assert.match(body.error.message, /already been used/)
    const successor = await refresh(strict.url, t1.refresh_token)
    assert.strictEqual(successor.status, 401)
    assert.strictEqual(await errorCode(successor), "refresh_token_invalidated")
    const userinfo = await http(`${strict.url}/userinfo`, { headers: { authorization: `Bearer ${t1.access_token}` } })
    assert.strictEqual(userinfo.status, 401)
    assert.strictEqual(await errorCode(userinfo), "token_revoked")
  })

  it("grace window measured from rotation: a reuse after reuseGraceMs is refused", async () => {
    const t0 = await m.control.mintTokens({})
    assert.strictEqual((await refresh(m.url, t0.refresh_token)).status, 200)
    await new Promise((r) => setTimeout(r, 350))
    assert.strictEqual(await errorCode(await refresh(m.url, t0.refresh_token)), "refresh_token_reused")
  })

  it("expired refresh token → 401 refresh_token_expired (by lifetime, and by the control API)", async () => {
    const t0 = await m.control.mintTokens({})
    await m.control.setClockOffset(31 * 24 * 3600)
    try {
      const res = await refresh(m.url, t0.refresh_token)
      assert.strictEqual(res.status, 401)
      assert.strictEqual(await errorCode(res), "refresh_token_expired")
    } finally {
      await m.control.setClockOffset(0)
    }
    const t1 = await strict.control.mintTokens({ email: "team@example.com" })
    const other = await strict.control.mintTokens({ email: "user@example.com" })
    const expired = await strict.control.expireTokens({ email: "team@example.com", refresh: true })
    assert.isAtLeast(expired.refreshTokens, 1)
    assert.strictEqual(await errorCode(await refresh(strict.url, t1.refresh_token)), "refresh_token_expired")
    assert.strictEqual((await refresh(strict.url, other.refresh_token)).status, 200)
  })

  it("revoked refresh token → 401 refresh_token_invalidated (via /oauth/revoke JSON, form, and the control API)", async () => {
    const a = await m.control.mintTokens({})
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: a.refresh_token, token_type_hint: "refresh_token", client_id: CLIENT_ID })).status, 200)
    assert.strictEqual(await errorCode(await refresh(m.url, a.refresh_token)), "refresh_token_invalidated")
    const b = await m.control.mintTokens({})
    assert.strictEqual((await postForm(`${m.url}/oauth/revoke`, { token: b.refresh_token, token_type_hint: "refresh_token" })).status, 200)
    assert.strictEqual(await errorCode(await refresh(m.url, b.refresh_token)), "refresh_token_invalidated")
    const c = await m.control.mintTokens({ email: "team@example.com" })
    const { grants } = await m.control.revokeAccount("team@example.com")
    assert.isAtLeast(grants, 1)
    const res = await refresh(m.url, c.refresh_token)
    assert.strictEqual(res.status, 401)
    assert.strictEqual(await errorCode(res), "refresh_token_invalidated")
  })

  it("unknown refresh token, wrong client or missing token are refused", async () => {
    assert.strictEqual((await refresh(m.url, "rt_nope")).status, 401)
    const t = await m.control.mintTokens({})
    assert.strictEqual((await postJson(`${m.url}/oauth/token`, { client_id: "app_x", grant_type: "refresh_token", refresh_token: t.refresh_token })).status, 401)
    assert.strictEqual((await postJson(`${m.url}/oauth/token`, { client_id: CLIENT_ID, grant_type: "refresh_token" })).status, 400)
    assert.strictEqual(m.engine.refreshTokenState(t.refresh_token), "active", "a refused request must not rotate")
  })
})

describe("revocation and userinfo", () => {
  it("revoking an access token makes /userinfo answer token_revoked; unknown tokens still get 200 (RFC 7009)", async () => {
    const t = await m.control.mintTokens({})
    const before = await http(`${m.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })
    assert.strictEqual(before.status, 200)
    assert.strictEqual((await before.json()).email, "user@example.com")
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: t.access_token, token_type_hint: "access_token" })).status, 200)
    assert.strictEqual(await errorCode(await http(`${m.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })), "token_revoked")
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: "whatever" })).status, 200)
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, {})).status, 400)
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: "x", client_id: "app_x" })).status, 401)
  })

  it("expired access tokens (by exp or by the control API) → 401 token_expired", async () => {
    const old = await m.control.mintTokens({ accessTokenTtlSeconds: -1 })
    assert.strictEqual(await errorCode(await http(`${m.url}/userinfo`, { headers: { authorization: `Bearer ${old.access_token}` } })), "token_expired")
    const t = await m.control.mintTokens({ email: "team@example.com" })
    await m.control.expireTokens({ email: "team@example.com" })
    assert.strictEqual(await errorCode(await http(`${m.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })), "token_expired")
  })

  it("the recorder keeps fingerprints of revoked tokens, never the token", async () => {
    const t = await m.control.mintTokens({})
    await postJson(`${m.url}/oauth/revoke`, { token: t.refresh_token, token_type_hint: "refresh_token", client_id: CLIENT_ID })
    const recorded = (await m.requests()).filter((r) => r.kind === "revoke").at(-1)!
    assert.deepStrictEqual(recorded.body, { token: fingerprint(t.refresh_token), token_type_hint: "refresh_token", client_id: CLIENT_ID })
    assert.notInclude(JSON.stringify(await m.requests()), t.refresh_token)
  })
})

describe("token exchange for an API key", () => {
  const exchange = (issuer: string, subject: string, extra: Record<string, string> = {}) =>
    postForm(`${issuer}/oauth/token`, {
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      client_id: CLIENT_ID,
      requested_token: "openai-api-key",
      subject_token: subject,
      subject_token_type: "urn:ietf:params:oauth:token-type:id_token",
      ...extra
    })

  it("exchanges this issuer's ID token for an API key", async () => {
    const t = await m.control.mintTokens({})
    const res = await exchange(m.url, t.id_token)
    assert.strictEqual(res.status, 200)
    assert.match((await res.json()).access_token, /^sk-mock-/)
  })

  it("refuses a foreign, expired or mistyped subject token", async () => {
    const foreign = await strict.control.mintTokens({})
    assert.strictEqual(await errorCode(await exchange(m.url, foreign.id_token)), "invalid_grant")
    const expired = await m.control.mintTokens({ idTokenTtlSeconds: -1 })
    assert.strictEqual(await errorCode(await exchange(m.url, expired.id_token)), "invalid_grant")
    const t = await m.control.mintTokens({})
    assert.strictEqual(await errorCode(await exchange(m.url, t.id_token, { requested_token: "other" })), "invalid_request")
  })
})

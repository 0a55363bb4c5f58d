import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { fingerprint, type RunningMockIssuer, startMockIssuer } from "../src/index.ts"
import { authorizeUrl, CLIENT_ID, exchangeCode, getManual, http, postJson, redirectParams, refresh } from "./helpers.ts"

let m: RunningMockIssuer

beforeAll(async () => {
  m = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
})
afterAll(() => m.close())

const control = (method: string, path: string, body?: unknown) =>
  http(`${m.url}/_harness${path}`, { method, ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }) })

describe("HTTP control API (/_harness/)", () => {
  it("health and config", async () => {
    assert.deepStrictEqual(await (await control("GET", "/health")).json(), { ok: true, issuer: m.url })
    const config = await (await control("GET", "/config")).json()
    assert.strictEqual(config.clientId, CLIENT_ID)
    assert.strictEqual(config.accounts[0].email, "user@example.com")
    assert.strictEqual(config.tokens.reuseGraceMs, 2000)
  })

  it("device approve by user code (snake_case body), then the poll succeeds", async () => {
    const uc = await (await postJson(`${m.url}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).json()
    const listed = await (await control("GET", "/device")).json()
    assert.isTrue(listed.some((d: { userCode: string; status: string }) => d.userCode === uc.user_code && d.status === "pending"))
    const approved = await control("POST", "/device/approve", { user_code: uc.user_code, email: "team@example.com" })
    assert.strictEqual(approved.status, 200)
    assert.strictEqual((await approved.json()).email, "team@example.com")
    assert.strictEqual((await postJson(`${m.url}/api/accounts/deviceauth/token`, { device_auth_id: uc.device_auth_id, user_code: uc.user_code })).status, 200)
    assert.strictEqual((await control("POST", "/device/approve", { userCode: "QQQQ-QQQQ" })).status, 404)
  })

  it("device deny", async () => {
    const uc = await (await postJson(`${m.url}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).json()
    assert.strictEqual((await control("POST", "/device/deny", { userCode: uc.user_code })).status, 200)
    assert.strictEqual((await postJson(`${m.url}/api/accounts/deviceauth/token`, { device_auth_id: uc.device_auth_id, user_code: uc.user_code })).status, 400)
  })

  it("approve and deny the pending browser sign-in", async () => {
    const a = authorizeUrl(m.url)
    await getManual(a.url)
    const pending = await (await control("GET", "/authorize/pending")).json()
    assert.strictEqual(pending.at(-1).redirectUri, "http://localhost:1455/auth/callback")
    const { redirectTo } = await (await control("POST", "/authorize/approve", { workspace_id: "11111111-1111-4111-8111-111111111111" })).json()
    const q = new URL(redirectTo).searchParams
    assert.strictEqual(q.get("state"), a.state)
    assert.strictEqual((await exchangeCode(m.url, q.get("code")!, a.verifier)).status, 200)
    const b = authorizeUrl(m.url)
    await getManual(b.url)
    const denied = await (await control("POST", "/authorize/deny", {})).json()
    assert.strictEqual(new URL(denied.redirectTo).searchParams.get("error"), "access_denied")
    assert.strictEqual((await control("POST", "/authorize/approve", {})).status, 404)
  })

  it("recorded requests are redacted to fingerprints and filterable by kind", async () => {
    await control("DELETE", "/requests")
    const t = await (await control("POST", "/tokens/mint", {})).json()
    await refresh(m.url, t.refresh_token)
    const records = await (await control("GET", "/requests?kind=refresh_token")).json()
    assert.strictEqual(records.length, 1)
    assert.strictEqual(records[0].body.refresh_token, fingerprint(t.refresh_token))
    assert.strictEqual(records[0].body.grant_type, "refresh_token")
    assert.strictEqual(records[0].body.refresh_reason, "proactive_expiry")
    assert.match(records[0].body.refresh_token, /^redacted:[0-9a-f]{4}$/)
    const all = JSON.stringify(await (await control("GET", "/requests")).json())
    assert.notInclude(all, t.refresh_token)
    await http(`${m.url}/userinfo`, { headers: { authorization: `Bearer ${t.access_token}` } })
    const userinfo = (await (await control("GET", "/requests?kind=userinfo")).json())[0]
    assert.strictEqual(userinfo.headers.authorization, `Bearer ${fingerprint(t.access_token)}`)
    const since = records[0].seq
    const later = await (await control("GET", `/requests?since=${since}`)).json()
    assert.isTrue(later.every((r: { seq: number }) => r.seq > since))
  })

  it("authorize query secrets (state, code_challenge) are redacted too", async () => {
    const a = authorizeUrl(m.url)
    await getManual(a.url)
    const rec = (await (await control("GET", "/requests?kind=authorize")).json()).at(-1)
    assert.strictEqual(rec.query.state, fingerprint(a.state))
    assert.strictEqual(rec.query.client_id, CLIENT_ID)
  })

  it("revoke all tokens of an account, expire tokens, mint", async () => {
    const t = await (await control("POST", "/tokens/mint", { email: "team@example.com", access_token_ttl_seconds: 120 })).json()
    assert.strictEqual(t.expires_in, 120)
    assert.deepStrictEqual(await (await control("POST", "/tokens/revoke", { email: "team@example.com" })).json(), { grants: 1 })
    assert.strictEqual((await (await refresh(m.url, t.refresh_token)).json()).error.code, "refresh_token_invalidated")
    const u = await (await control("POST", "/tokens/mint", {})).json()
    const expired = await (await control("POST", "/tokens/expire", { refresh: true })).json()
    assert.isAtLeast(expired.refreshTokens, 1)
    assert.strictEqual((await (await refresh(m.url, u.refresh_token)).json()).error.code, "refresh_token_expired")
    assert.strictEqual((await control("POST", "/tokens/revoke", { email: "nobody@example.com" })).status, 404)
  })

  it("faults over HTTP", async () => {
    const set = await control("POST", "/faults", { endpoint: "usercode", rules: [{ status: 503, times: 1 }] })
    assert.deepStrictEqual((await set.json()).usercode[0].remaining, 1)
    assert.strictEqual((await postJson(`${m.url}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).status, 503)
    await control("POST", "/faults", { endpoint: "devicetoken", rules: [{ status: 429, retry_after_seconds: 3 }] })
    const limited = await postJson(`${m.url}/api/accounts/deviceauth/token`, { device_auth_id: "x", user_code: "y" })
    assert.strictEqual(limited.headers.get("retry-after"), "3", "nested snake_case keys are accepted")
    await control("POST", "/faults", { endpoint: "usercode", rules: [{ status: 500, times: 3 }] })
    assert.deepStrictEqual(await (await control("DELETE", "/faults", {})).json(), {})
    assert.strictEqual((await control("POST", "/faults", { endpoint: "nowhere", rules: [] })).status, 400)
  })

  it("clock offset shifts token times", async () => {
    await control("POST", "/clock", { offset_seconds: 3600 })
    const t = await (await control("POST", "/tokens/mint", {})).json()
    const iat = JSON.parse(Buffer.from(t.id_token.split(".")[1], "base64url").toString()).iat
    assert.approximately(iat, Math.floor(Date.now() / 1000) + 3600, 5)
    assert.strictEqual((await (await control("GET", "/clock")).json()).offsetSeconds, 3600)
    await control("POST", "/clock", { offsetSeconds: 0 })
  })

  it("auto-approve can be switched on at run time", async () => {
    await control("POST", "/auto-approve", { enabled: true })
    try {
      assert.isNotNull(redirectParams(await getManual(authorizeUrl(m.url).url)).get("code"))
    } finally {
      await control("POST", "/auto-approve", { enabled: false })
    }
    assert.strictEqual((await getManual(authorizeUrl(m.url).url)).status, 200)
  })

  it("reset forgets tokens, codes and recorded requests", async () => {
    const t = await (await control("POST", "/tokens/mint", {})).json()
    await control("POST", "/reset")
    assert.deepStrictEqual(await (await control("GET", "/requests")).json(), [])
    assert.strictEqual((await refresh(m.url, t.refresh_token)).status, 401)
  })

  it("bad bodies and unknown routes: 400 and 404 with a pointer to the docs", async () => {
    const bad = await control("POST", "/device/approve", { userCode: 5 })
    assert.strictEqual(bad.status, 400)
    assert.match((await bad.json()).error.message, /userCode/)
    const extra = await control("POST", "/tokens/expire", { everything: true })
    assert.strictEqual(extra.status, 400)
    const unknown = await control("GET", "/nope")
    assert.strictEqual(unknown.status, 404)
    assert.match((await unknown.json()).error.message, /docs\/mock-server\.md/)
  })

  it("control requests are not recorded", async () => {
    await control("DELETE", "/requests")
    await control("GET", "/config")
    assert.deepStrictEqual(await (await control("GET", "/requests")).json(), [])
  })
})

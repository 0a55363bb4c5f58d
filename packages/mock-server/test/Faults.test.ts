import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { type RunningMockIssuer, startMockIssuer } from "../src/index.ts"
import { authorizeUrl, CLIENT_ID, getManual, http, postJson, refresh } from "./helpers.ts"

let m: RunningMockIssuer

beforeAll(async () => {
  m = await startMockIssuer({})
})
afterAll(() => m.close())

const usercode = () => postJson(`${m.url}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })

describe("fault injection", () => {
  it("HTTP 503 N times, then normal answers; each fault is recorded", async () => {
    await m.control.setFaults("usercode", [{ status: 503, times: 2 }])
    assert.strictEqual((await usercode()).status, 503)
    const second = await usercode()
    assert.strictEqual(second.status, 503)
    assert.strictEqual((await second.json()).error.code, "server_error")
    assert.strictEqual((await usercode()).status, 200)
    const recorded = (await m.requests()).filter((r) => r.kind === "usercode").slice(-3)
    assert.deepStrictEqual(recorded.map((r) => [r.status, r.fault]), [[503, "status:503"], [503, "status:503"], [200, undefined]])
  })

  it("429 with Retry-After", async () => {
    await m.control.setFaults("devicetoken", [{ status: 429, retryAfterSeconds: 7 }])
    const res = await postJson(`${m.url}/api/accounts/deviceauth/token`, { device_auth_id: "x", user_code: "y" })
    assert.strictEqual(res.status, 429)
    assert.strictEqual(res.headers.get("retry-after"), "7")
    assert.strictEqual((await res.json()).error.code, "rate_limit_exceeded")
  })

  it("dropped connection: the client sees a network error, the next request succeeds", async () => {
    await m.control.setFaults("usercode", [{ drop: true }])
    const error = await usercode().then(() => undefined, (e: unknown) => e)
    assert.instanceOf(error, Error)
    assert.strictEqual((await usercode()).status, 200)
    assert.strictEqual((await m.requests()).filter((r) => r.kind === "usercode").at(-2)?.status, 0)
  })

  it("malformed JSON: 200 with a truncated body", async () => {
    await m.control.setFaults("token", [{ malformed: true }])
    const t = await m.control.mintTokens({})
    const res = await refresh(m.url, t.refresh_token)
    assert.strictEqual(res.status, 200)
    assert.match(res.headers.get("content-type") ?? "", /application\/json/)
    const text = await res.text()
    assert.throws(() => JSON.parse(text))
    assert.strictEqual(m.engine.refreshTokenState(t.refresh_token), "active", "a faulted refresh must not rotate")
  })

  it("slow_down: 400 {error: slow_down}", async () => {
    await m.control.setFaults("devicetoken", [{ slowDown: true }])
    const res = await postJson(`${m.url}/api/accounts/deviceauth/token`, { device_auth_id: "x", user_code: "y" })
    assert.strictEqual(res.status, 400)
    assert.strictEqual((await res.json()).error, "slow_down")
  })

  it("added latency delays the normal answer", async () => {
    await m.control.setFaults("discovery", [{ latencyMs: 250 }])
    const t0 = Date.now()
    const res = await http(`${m.url}/.well-known/openid-configuration`)
    assert.strictEqual(res.status, 200)
    assert.isAtLeast(Date.now() - t0, 240)
  })

  it("rules apply in order; `refresh` targets only refresh grants and comes before `token`", async () => {
    await m.control.setFaults("refresh", [{ status: 500 }, { status: 502 }])
    await m.control.setFaults("token", [{ status: 503 }])
    const t = await m.control.mintTokens({})
    assert.strictEqual((await refresh(m.url, t.refresh_token)).status, 500)
    assert.strictEqual((await refresh(m.url, t.refresh_token)).status, 502)
    assert.strictEqual((await refresh(m.url, t.refresh_token)).status, 503)
    assert.strictEqual((await refresh(m.url, t.refresh_token)).status, 200)
  })

  it("authorize and revoke faults; clearFaults removes pending rules", async () => {
    await m.control.setFaults("authorize", [{ status: 500 }])
    assert.strictEqual((await getManual(authorizeUrl(m.url).url)).status, 500)
    await m.control.setFaults("revoke", [{ status: 503, times: 5 }])
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: "x" })).status, 503)
    await m.control.clearFaults()
    assert.strictEqual((await postJson(`${m.url}/oauth/revoke`, { token: "x" })).status, 200)
  })
})

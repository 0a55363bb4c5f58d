import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { type RunningMockIssuer, startMockIssuer } from "../src/index.ts"
import { authorizeUrl, CLIENT_ID, exchangeCode, http, jwtPayload, postForm, postJson, redirectParams, type Res, sessionOf } from "./helpers.ts"

let m: RunningMockIssuer

beforeAll(async () => {
  m = await startMockIssuer({
    config: {
      device: { intervalSeconds: 1, expirySeconds: 60 },
      accounts: [
        { email: "user@example.com", workspaces: [{ id: "ws-personal", name: "Personal" }] },
        { email: "nodevice@example.com", deviceLogin: false },
        { email: "team@example.com", workspaces: [{ id: "ws-a", name: "A" }, { id: "ws-b", name: "B" }] }
      ]
    }
  })
})
afterAll(() => m.close())

const userCode = async (issuer = m.url) => {
  const res = await postJson(`${issuer}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })
  return { res, body: res.status === 200 ? ((await res.json()) as { device_auth_id: string; user_code: string; interval: string }) : undefined }
}
const poll = (d: { device_auth_id: string; user_code: string }, issuer = m.url) =>
  postJson(`${issuer}/api/accounts/deviceauth/token`, { device_auth_id: d.device_auth_id, user_code: d.user_code })
const errorCode = async (res: Res) => (await res.json()).error?.code

describe("device code protocol", () => {
  it("usercode → {device_auth_id, user_code, interval as a string}", async () => {
    const { res, body } = await userCode()
    assert.strictEqual(res.status, 200)
    assert.match(body!.user_code, /^[A-Z]{4}-[A-Z]{4}$/)
    assert.strictEqual(body!.interval, "1")
    assert.match(body!.device_auth_id, /^deviceauth_/)
  })

  it("rejects an unknown client_id", async () => {
    assert.strictEqual((await postJson(`${m.url}/api/accounts/deviceauth/usercode`, { client_id: "app_x" })).status, 400)
  })

  it("403 while pending; 200 {authorization_code, code_challenge, code_verifier} once approved; the code exchanges with the device callback", async () => {
    const { body } = await userCode()
    const pending = await poll(body!)
    assert.strictEqual(pending.status, 403)
    assert.strictEqual(await errorCode(pending), "authorization_pending")
    await m.control.approveDevice(body!.user_code.toLowerCase().replace("-", " "))
    const ok = await poll(body!)
    assert.strictEqual(ok.status, 200)
    const grant = await ok.json()
    assert.hasAllKeys(grant, ["authorization_code", "code_challenge", "code_verifier"])
    const wrongRedirect = await exchangeCode(m.url, grant.authorization_code, grant.code_verifier)
    assert.strictEqual(wrongRedirect.status, 400)
    const tokens = await exchangeCode(m.url, grant.authorization_code, grant.code_verifier, `${m.url}/deviceauth/callback`)
    assert.strictEqual(tokens.status, 200)
    assert.strictEqual(jwtPayload((await tokens.json()).id_token).email, "user@example.com")
    const after = await poll(body!)
    assert.strictEqual(after.status, 400, "a used device grant cannot be polled again")
  })

  it("a poll with a mismatched user_code or unknown id is refused (400), not left pending", async () => {
    const { body } = await userCode()
    assert.strictEqual((await poll({ device_auth_id: body!.device_auth_id, user_code: "ZZZZ-ZZZZ" })).status, 400)
    assert.strictEqual((await poll({ device_auth_id: "deviceauth_nope", user_code: body!.user_code })).status, 400)
  })

  it("denied → 400 access_denied", async () => {
    const { body } = await userCode()
    await m.control.denyDevice(body!.user_code)
    const res = await poll(body!)
    assert.strictEqual(res.status, 400)
    assert.strictEqual(await errorCode(res), "access_denied")
    const again = await m.control.approveDevice(body!.user_code).catch((e: { status: number }) => e.status)
    assert.strictEqual(again, 409)
  })

  it("device login disabled for the approving account → the poll answers 404 device_login_disabled", async () => {
    const { body } = await userCode()
    await m.control.approveDevice(body!.user_code, { email: "nodevice@example.com" })
    const res = await poll(body!)
    assert.strictEqual(res.status, 404)
    assert.strictEqual(await errorCode(res), "device_login_disabled")
  })

  it("device login disabled globally → usercode answers 404", async () => {
    const off = await startMockIssuer({ config: { deviceAuthEnabled: false } })
    try {
      const { res } = await userCode(off.url)
      assert.strictEqual(res.status, 404)
    } finally {
      await off.close()
    }
  })

  it("codes expire: a pending code past expirySeconds → 400 expired_token, and cannot be approved", async () => {
    const { body } = await userCode()
    await m.control.setClockOffset(61)
    try {
      const res = await poll(body!)
      assert.strictEqual(res.status, 400)
      assert.strictEqual(await errorCode(res), "expired_token")
      const status = await m.control.approveDevice(body!.user_code).catch((e: { status: number }) => e.status)
      assert.strictEqual(status, 409)
    } finally {
      await m.control.setClockOffset(0)
    }
  })

  it("auto-approve: the first poll already succeeds", async () => {
    const auto = await startMockIssuer({ autoApprove: true })
    try {
      const { body } = await userCode(auto.url)
      assert.strictEqual((await poll(body!, auto.url)).status, 200)
    } finally {
      await auto.close()
    }
  })
})

describe("/codex/device page", () => {
  it("enter the code, pick an account and a workspace → approved; the poll then succeeds with that workspace", async () => {
    const { body } = await userCode()
    const page = await http(`${m.url}/codex/device`)
    const html = await page.text()
    assert.include(html, `<label class="field" for="user_code">`)
    assert.notInclude(html, "<script")
    const bad = await postForm(`${m.url}/codex/device`, { user_code: "NOPE-NOPE" })
    assert.strictEqual(bad.status, 400)
    const account = await postForm(`${m.url}/codex/device`, { user_code: body!.user_code.toLowerCase() })
    assert.strictEqual(account.status, 200)
    const accountHtml = await account.text()
    assert.include(accountHtml, body!.user_code)
    const session = sessionOf(accountHtml)
    const ws = await postForm(`${m.url}/signin/account`, { session, action: "continue", account: "team@example.com" })
    assert.include(await ws.text(), "Choose a workspace")
    const done = await postForm(`${m.url}/signin/workspace`, { session, action: "continue", workspace: "ws-b" })
    assert.strictEqual(done.status, 200)
    assert.include(await done.text(), "signed in as team@example.com")
    const grant = await (await poll(body!)).json()
    const tokens = await (await exchangeCode(m.url, grant.authorization_code, grant.code_verifier, `${m.url}/deviceauth/callback`)).json()
    assert.strictEqual(jwtPayload(tokens.id_token)["https://api.openai.com/auth"].chatgpt_account_id, "ws-b")
  })

  it("cancel on the page denies the code; an account without device login gets an explanation and a 404 poll", async () => {
    const a = (await userCode()).body!
    const sa = sessionOf(await (await postForm(`${m.url}/codex/device`, { user_code: a.user_code })).text())
    const cancelled = await postForm(`${m.url}/signin/account`, { session: sa, action: "cancel" })
    assert.strictEqual(cancelled.status, 403)
    assert.strictEqual((await poll(a)).status, 400)

    const b = (await userCode()).body!
    const sb = sessionOf(await (await postForm(`${m.url}/codex/device`, { user_code: b.user_code })).text())
    const disabled = await postForm(`${m.url}/signin/account`, { session: sb, action: "continue", account: "nodevice@example.com" })
    assert.strictEqual(disabled.status, 403)
    assert.include(await disabled.text(), "Device code login is not enabled")
    assert.strictEqual((await poll(b)).status, 404)
  })

  it("the device callback redirect URI exists as a page", async () => {
    assert.strictEqual((await http(`${m.url}/deviceauth/callback`)).status, 200)
  })

  it("browser authorize also accepts the device callback as redirect URI", async () => {
    const a = authorizeUrl(m.url, { redirect_uri: `${m.url}/deviceauth/callback` })
    const session = sessionOf(await (await http(a.url)).text())
    const q = redirectParams(await postForm(`${m.url}/signin/account`, { session, action: "continue", account: "user@example.com" }))
    assert.strictEqual((await exchangeCode(m.url, q.get("code")!, a.verifier, `${m.url}/deviceauth/callback`)).status, 200)
  })
})

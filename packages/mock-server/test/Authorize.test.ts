import { assert, describe, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { type RunningMockIssuer, startMockIssuer } from "../src/index.ts"
import { authorizeUrl, CALLBACK, exchangeCode, getManual, http, jwtPayload, postForm, redirectParams, sessionOf } from "./helpers.ts"

let m: RunningMockIssuer

beforeAll(async () => {
  m = await startMockIssuer({
    config: {
      accounts: [
        { email: "user@example.com", plan: "plus", workspaces: [{ id: "ws-personal", name: "Personal" }] },
        { email: "team@example.com", plan: "team", workspaces: [{ id: "ws-eng", name: "Engineering" }, { id: "ws-research", name: "Research", plan: "enterprise" }] },
        { email: "pw@example.com", passwordOnly: true, workspaces: [{ id: "ws-pw", name: "PW" }] },
        { email: "pw-mfa@example.com", passwordOnly: true, mfa: true, workspaces: [{ id: "ws-pwm", name: "PWM" }] },
        { email: "nocodex@example.com", codexEntitlement: false }
      ]
    }
  })
})
afterAll(() => m.close())

const startSignIn = async (overrides: Record<string, string | null> = {}) => {
  const a = authorizeUrl(m.url, overrides)
  const res = await getManual(a.url)
  const html = await res.text()
  return { ...a, res, html, session: res.status === 200 ? sessionOf(html) : "" }
}

const choose = (step: "account" | "otp" | "workspace", session: string, fields: Record<string, string>) =>
  postForm(`${m.url}/signin/${step}`, { session, action: "continue", ...fields })

describe("GET /oauth/authorize validation", () => {
  it("renders an error page (no redirect) for an unknown client_id or redirect_uri", async () => {
    for (const overrides of [{ client_id: "app_other" }, { client_id: null }, { redirect_uri: "http://localhost:8080/auth/callback" }, { redirect_uri: "https://evil.example/auth/callback" }, { redirect_uri: "http://localhost:1455/other" }, { redirect_uri: null }]) {
      const res = await getManual(authorizeUrl(m.url, overrides).url)
      assert.strictEqual(res.status, 400, JSON.stringify(overrides))
      assert.isNull(res.headers.get("location"))
      assert.match(res.headers.get("content-type") ?? "", /text\/html/)
    }
  })

  it("accepts localhost, 127.0.0.1 and [::1] on 1455 and 1457, and the device callback", async () => {
    for (const uri of ["http://localhost:1455/auth/callback", "http://127.0.0.1:1457/auth/callback", "http://[::1]:1455/auth/callback", `${m.url}/deviceauth/callback`]) {
      const res = await getManual(authorizeUrl(m.url, { redirect_uri: uri }).url)
      assert.strictEqual(res.status, 200, uri)
    }
  })

  it("redirects with invalid_request when PKCE is missing or not S256, or state is missing", async () => {
    const cases: Array<[Record<string, string | null>, string]> = [
      [{ code_challenge: null }, "invalid_request"],
      [{ code_challenge_method: "plain" }, "invalid_request"],
      [{ code_challenge: "short" }, "invalid_request"],
      [{ state: null }, "invalid_request"],
      [{ response_type: "token" }, "unsupported_response_type"],
      [{ scope: "profile email" }, "invalid_scope"]
    ]
    for (const [overrides, error] of cases) {
      const res = await getManual(authorizeUrl(m.url, overrides).url)
      const q = redirectParams(res)
      assert.strictEqual(q.get("error"), error, JSON.stringify(overrides))
      assert.isNull(q.get("code"))
      assert.isTrue(res.headers.get("location")!.startsWith(CALLBACK))
    }
  })
})

describe("sign-in pages", () => {
  it("account picker: a labelled, script-free HTML page listing the configured accounts", async () => {
    const { html, res } = await startSignIn()
    assert.strictEqual(res.status, 200)
    assert.notInclude(html, "<script")
    assert.include(html, "<label")
    assert.include(html, "user@example.com")
    assert.include(html, "team@example.com")
    assert.include(html, "localhost:1455")
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/)
  })

  it("single-workspace account: pick account → redirect with code and state; the code exchanges for tokens", async () => {
    const s = await startSignIn()
    const res = await choose("account", s.session, { account: "user@example.com" })
    const q = redirectParams(res)
    assert.strictEqual(q.get("state"), s.state)
    const code = q.get("code")!
    const tokens = await (await exchangeCode(m.url, code, s.verifier)).json()
    const claims = jwtPayload(tokens.id_token)
    assert.strictEqual(claims.email, "user@example.com")
    assert.strictEqual(claims["https://api.openai.com/auth"].chatgpt_account_id, "ws-personal")
    assert.strictEqual(claims["https://api.openai.com/auth"].chatgpt_plan_type, "plus")
  })

  it("multi-workspace account: a workspace step; the chosen workspace's id and plan land in the tokens", async () => {
    const s = await startSignIn()
    const page = await choose("account", s.session, { account: "team@example.com" })
    assert.strictEqual(page.status, 200)
    const html = await page.text()
    assert.include(html, "Engineering")
    assert.include(html, "Research")
    const q = redirectParams(await choose("workspace", s.session, { workspace: "ws-research" }))
    const tokens = await (await exchangeCode(m.url, q.get("code")!, s.verifier)).json()
    const auth = jwtPayload(tokens.access_token)["https://api.openai.com/auth"]
    assert.strictEqual(auth.chatgpt_account_id, "ws-research")
    assert.strictEqual(auth.chatgpt_plan_type, "enterprise")
  })

  it("password-only account without MFA gets a one-time-code step; a wrong code is refused, the mailed one passes", async () => {
    const s = await startSignIn()
    const otpPage = await (await choose("account", s.session, { account: "pw@example.com" })).text()
    assert.include(otpPage, "One-time code")
    const mail = (await m.control.outbox()).at(-1)!
    assert.strictEqual(mail.email, "pw@example.com")
    assert.match(mail.code, /^\d{6}$/)
    const wrong = await choose("otp", s.session, { otp: String((Number(mail.code) + 1) % 1_000_000).padStart(6, "0") })
    assert.strictEqual(wrong.status, 400)
    assert.include(await wrong.text(), "not right")
    const q = redirectParams(await choose("otp", s.session, { otp: mail.code }))
    assert.isNotNull(q.get("code"))
  })

  it("password-only account with MFA skips the one-time-code step", async () => {
    const s = await startSignIn()
    const res = await choose("account", s.session, { account: "pw-mfa@example.com" })
    assert.isNotNull(redirectParams(res).get("code"))
  })

  it("skipping the one-time code by posting the workspace step directly does not sign in", async () => {
    const s = await startSignIn()
    await choose("account", s.session, { account: "pw@example.com" })
    const res = await choose("workspace", s.session, { workspace: "ws-pw" })
    assert.strictEqual(res.status, 200)
    assert.include(await res.text(), "One-time code")
  })

  it("cancel → access_denied with the state", async () => {
    const s = await startSignIn()
    const q = redirectParams(await postForm(`${m.url}/signin/account`, { session: s.session, action: "cancel" }))
    assert.strictEqual(q.get("error"), "access_denied")
    assert.strictEqual(q.get("state"), s.state)
  })

  it("account without Codex → access_denied / missing_codex_entitlement (Codex's own shape)", async () => {
    const s = await startSignIn()
    const q = redirectParams(await choose("account", s.session, { account: "nocodex@example.com" }))
    assert.strictEqual(q.get("error"), "access_denied")
    assert.match(q.get("error_description")!, /^missing_codex_entitlement/)
  })

  it("allowed_workspace_id: the page flags excluded workspaces; choosing one → access_denied / workspace_not_allowed", async () => {
    const s = await startSignIn({ allowed_workspace_id: "ws-eng" })
    const html = await (await choose("account", s.session, { account: "team@example.com" })).text()
    assert.include(html, "not allowed by your administrator")
    const q = redirectParams(await choose("workspace", s.session, { workspace: "ws-research" }))
    assert.strictEqual(q.get("error"), "access_denied")
    assert.match(q.get("error_description")!, /^workspace_not_allowed/)
    const ok = await startSignIn({ allowed_workspace_id: "ws-eng" })
    await choose("account", ok.session, { account: "team@example.com" })
    assert.isNotNull(redirectParams(await choose("workspace", ok.session, { workspace: "ws-eng" })).get("code"))
  })

  it("a finished session cannot be replayed", async () => {
    const s = await startSignIn()
    await choose("account", s.session, { account: "user@example.com" })
    const again = await choose("account", s.session, { account: "user@example.com" })
    assert.strictEqual(again.status, 400)
  })
})

describe("control approval and auto-approve", () => {
  it("approves the most recent pending sign-in with a chosen account and workspace", async () => {
    const s = await startSignIn()
    const pending = await m.control.pendingAuthorizations()
    assert.isTrue(pending.some((p) => p.session === s.session))
    const { redirectTo } = await m.control.approveAuthorization({ email: "team@example.com", workspaceId: "ws-eng" })
    const q = new URL(redirectTo).searchParams
    assert.strictEqual(q.get("state"), s.state)
    const tokens = await (await exchangeCode(m.url, q.get("code")!, s.verifier)).json()
    assert.strictEqual(jwtPayload(tokens.id_token).email, "team@example.com")
  })

  it("denies a pending sign-in as missing_codex_entitlement", async () => {
    const s = await startSignIn()
    const { redirectTo } = await m.control.denyAuthorization({ session: s.session, reason: "missing_codex_entitlement" })
    const q = new URL(redirectTo).searchParams
    assert.strictEqual(q.get("error"), "access_denied")
    assert.match(q.get("error_description")!, /missing_codex_entitlement/)
  })

  it("rejects approval when nothing is pending", async () => {
    const fresh = await startMockIssuer()
    try {
      const error = await fresh.control.approveAuthorization().catch((e: unknown) => e)
      assert.strictEqual((error as { _tag: string })._tag, "MockControlError")
      assert.strictEqual((error as { status: number }).status, 404)
    } finally {
      await fresh.close()
    }
  })

  it("auto-approve redirects at once, respecting allowed_workspace_id", async () => {
    const auto = await startMockIssuer({ autoApprove: true })
    try {
      const a = authorizeUrl(auto.url, { allowed_workspace_id: "33333333-3333-4333-8333-333333333333" })
      const q = redirectParams(await getManual(a.url))
      assert.isNull(q.get("code"), "the default account has no such workspace")
      assert.strictEqual(q.get("error"), "access_denied")
      const b = authorizeUrl(auto.url)
      const code = redirectParams(await getManual(b.url)).get("code")!
      const tokens = await (await exchangeCode(auto.url, code, b.verifier)).json()
      assert.strictEqual(jwtPayload(tokens.id_token).email, "user@example.com")
    } finally {
      await auto.close()
    }
  })
})

describe("authorization code exchange", () => {
  const signedIn = async () => {
    const s = await startSignIn()
    const code = redirectParams(await choose("account", s.session, { account: "user@example.com" })).get("code")!
    return { ...s, code }
  }

  it("wrong PKCE verifier → invalid_grant; the code stays usable with the right one", async () => {
    const s = await signedIn()
    const bad = await exchangeCode(m.url, s.code, `${s.verifier.slice(0, -1)}${s.verifier.endsWith("A") ? "B" : "A"}`)
    assert.strictEqual(bad.status, 400)
    assert.strictEqual((await bad.json()).error, "invalid_grant")
    assert.strictEqual((await exchangeCode(m.url, s.code, s.verifier)).status, 200)
  })

  it("missing verifier → invalid_request; redirect_uri mismatch → invalid_grant; unknown client → 401", async () => {
    const s = await signedIn()
    const noVerifier = await postForm(`${m.url}/oauth/token`, { grant_type: "authorization_code", code: s.code, redirect_uri: CALLBACK, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
    assert.strictEqual((await noVerifier.json()).error, "invalid_request")
    const mismatch = await exchangeCode(m.url, s.code, s.verifier, "http://localhost:1457/auth/callback")
    assert.strictEqual((await mismatch.json()).error, "invalid_grant")
    const client = await postForm(`${m.url}/oauth/token`, { grant_type: "authorization_code", code: s.code, redirect_uri: CALLBACK, client_id: "app_x", code_verifier: s.verifier })
    assert.strictEqual(client.status, 401)
  })

  it("codes are single-use: a replay fails and revokes the tokens it issued", async () => {
    const s = await signedIn()
    const tokens = await (await exchangeCode(m.url, s.code, s.verifier)).json()
    const replay = await exchangeCode(m.url, s.code, s.verifier)
    assert.strictEqual(replay.status, 400)
    assert.strictEqual((await replay.json()).error, "invalid_grant")
    assert.strictEqual(m.engine.refreshTokenState(tokens.refresh_token), "revoked")
  })

  it("codes are short-lived: past authorizationCodeTtlSeconds the exchange fails", async () => {
    const s = await signedIn()
    await m.control.setClockOffset(61)
    try {
      const res = await exchangeCode(m.url, s.code, s.verifier)
      assert.strictEqual(res.status, 400)
      assert.match((await res.json()).error_description, /expired/)
    } finally {
      await m.control.setClockOffset(0)
    }
  })

  it("unknown grant types and bodyless requests are rejected", async () => {
    assert.strictEqual((await (await postForm(`${m.url}/oauth/token`, { grant_type: "password" })).json()).error, "unsupported_grant_type")
    const empty = await http(`${m.url}/oauth/token`, { method: "POST" })
    assert.strictEqual(empty.status, 400)
  })
})

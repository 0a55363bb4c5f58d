/**
 * Fidelity: the real Codex CLI completes its device-code login against the mock issuer, approved
 * through the HTTP control API, and then reports "Logged in using ChatGPT". Denied and disabled
 * device logins end the way the real CLI ends them.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { describe, expect, it } from "vitest"
import { existingCodexHome, readAuth, runCodexAsync, startCodex } from "../src/RealCodex.ts"

const USER_CODE = /\b([A-Z]{4}-[A-Z]{4})\b/

const controlPost = (issuer: string, path: string, body: unknown) =>
  fetch(`${issuer}/_harness${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

describe("real Codex CLI: device-code login against the mock", () => {
  it("`codex login --device-auth --experimental_issuer` completes when approved via the control API; `codex login status` says ChatGPT", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      const env = { CODEX_HOME: codexHome }
      const login = startCodex(["login", "--device-auth", "--experimental_issuer", mock.url], { env })
      const [, userCode] = await login.waitFor(USER_CODE)
      expect(login.output()).toContain(`${mock.url}/codex/device`)
      const approved = await controlPost(mock.url, "/device/approve", { user_code: userCode, email: "team@example.com", workspace_id: "33333333-3333-4333-8333-333333333333" })
      expect(approved.status).toBe(200)
      const done = await login.exit
      expect(done.code, done.output).toBe(0)
      expect(done.output).toContain("Successfully logged in")

      const auth = readAuth(codexHome)
      expect(auth.auth_mode).toBe("chatgpt")
      expect(auth.tokens.account_id).toBe("33333333-3333-4333-8333-333333333333")
      expect(auth.tokens.oauth_provenance?.issuer).toBe(mock.url)
      const idClaims = JSON.parse(Buffer.from(auth.tokens.id_token.split(".")[1], "base64url").toString())
      expect(idClaims.email).toBe("team@example.com")
      expect(idClaims["https://api.openai.com/auth"].chatgpt_plan_type).toBe("enterprise")
      expect(mock.engine.refreshTokenState(auth.tokens.refresh_token)).toBe("active")

      const status = await runCodexAsync(["login", "status"], { env })
      expect(status.code).toBe(0)
      expect(status.output).toContain("Logged in using ChatGPT")

      const requests = await mock.requests()
      const usercode = requests.find((r) => r.kind === "usercode")!
      expect(usercode.body).toEqual({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
      expect(usercode.headers["content-type"]).toBe("application/json")
      const polls = requests.filter((r) => r.kind === "devicetoken")
      expect(polls.at(-1)!.status).toBe(200)
      expect(polls.slice(0, -1).every((p) => p.status === 403)).toBe(true)
      const exchange = requests.find((r) => r.kind === "authorization_code")!
      expect(exchange.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(exchange.body).toMatchObject({ grant_type: "authorization_code", redirect_uri: `${mock.url}/deviceauth/callback`, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
      expect((exchange.body as { code: string }).code).toMatch(/^redacted:[0-9a-f]{4}$/)
      expect(JSON.stringify(requests)).not.toContain(auth.tokens.refresh_token)
      expect(JSON.stringify(requests)).not.toContain(auth.tokens.access_token)
    } finally {
      await mock.close()
    }
  })

  it("a denied device code ends the real CLI's login with an error and no credentials", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      const login = startCodex(["login", "--device-auth", "--experimental_issuer", mock.url], { env: { CODEX_HOME: codexHome } })
      const [, userCode] = await login.waitFor(USER_CODE)
      await mock.control.denyDevice(userCode!)
      const done = await login.exit
      expect(done.code).not.toBe(0)
      expect(done.output).toMatch(/device auth failed with status 400/)
      expect(() => readAuth(codexHome)).toThrow()
    } finally {
      await mock.close()
    }
  })

  it("device login disabled on the issuer: the real CLI says so (HTTP 404 at usercode)", async () => {
    const mock = await startMockIssuer({ config: { deviceAuthEnabled: false } })
    try {
      const done = await runCodexAsync(["login", "--device-auth", "--experimental_issuer", mock.url], { env: { CODEX_HOME: existingCodexHome() } })
      expect(done.code).toBe(1)
      expect(done.output).toContain("device code login is not enabled")
    } finally {
      await mock.close()
    }
  })

  it("auto-approve: the real CLI signs in unattended with the default account", async () => {
    const mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      const done = await runCodexAsync(["login", "--device-auth", "--experimental_issuer", mock.url], { env: { CODEX_HOME: codexHome } })
      expect(done.code, done.output).toBe(0)
      expect(readAuth(codexHome).tokens.account_id).toBe("11111111-1111-4111-8111-111111111111")
    } finally {
      await mock.close()
    }
  })
})

/**
 * The mock's sign-in and device pages in headless Chromium (Debian package, via playwright-core),
 * each time completing a real Codex CLI login: the device page approves `codex login
 * --device-auth`, and the sign-in pages (account → one-time code → workspace) finish the real
 * CLI's browser login, Chromium following the redirect to its loopback callback. Screenshots go
 * to `<repo>/test-artifacts/`.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { screenshot, withChromium } from "../src/Chromium.ts"
import { withFixedPortsLock } from "../src/ports.ts"
import { existingCodexHome, readAuth, startAppServer, startCodex } from "../src/RealCodex.ts"

describe("sign-in and device pages in headless Chromium", () => {
  it("device page: type the code, pick account and workspace; the real `codex login --device-auth` completes", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      const login = startCodex(["login", "--device-auth", "--experimental_issuer", mock.url], { env: { CODEX_HOME: codexHome } })
      const [, userCode] = await login.waitFor(/\b([A-Z]{4}-[A-Z]{4})\b/)
      await withChromium(async (page) => {
        await page.goto(`${mock.url}/codex/device`)
        await page.getByLabel("Code").fill(userCode!.toLowerCase())
        expect(existsSync(await screenshot(page, "mock-device-1-code"))).toBe(true)
        await page.getByRole("button", { name: "Continue" }).click()
        await expect(page.getByRole("heading", { name: "Sign in to Codex" }).isVisible()).resolves.toBe(true)
        expect(await page.textContent("main")).toContain(userCode)
        await page.getByLabel(/team@example\.com/).check()
        await screenshot(page, "mock-device-2-account")
        await page.getByRole("button", { name: "Continue" }).click()
        await page.getByLabel(/Acme Research/).check()
        await screenshot(page, "mock-device-3-workspace")
        await page.getByRole("button", { name: "Continue" }).click()
        await expect(page.getByRole("heading", { name: "Device signed in" }).isVisible()).resolves.toBe(true)
        await screenshot(page, "mock-device-4-approved")
      })
      const done = await login.exit
      expect(done.code, done.output).toBe(0)
      expect(readAuth(codexHome).tokens.account_id).toBe("33333333-3333-4333-8333-333333333333")
    } finally {
      await mock.close()
    }
  })

  it("sign-in pages: account, one-time code and workspace; Chromium lands on the real CLI's loopback callback", () =>
    withFixedPortsLock(async () => {
      const mock = await startMockIssuer({
        config: {
          accounts: [
            { email: "pw@example.com", name: "Password Only", passwordOnly: true, plan: "team", workspaces: [{ id: "ws-alpha", name: "Alpha" }, { id: "ws-beta", name: "Beta" }] },
            { email: "user@example.com" }
          ]
        }
      })
      const codexHome = existingCodexHome()
      const server = await startAppServer({ env: { CODEX_HOME: codexHome, CODEX_APP_SERVER_LOGIN_ISSUER: mock.url } })
      try {
        const start = await server.request("account/login/start", { type: "chatgpt" })
        const callbackOrigin = new URL(new URL(start.authUrl).searchParams.get("redirect_uri")!).origin
        await withChromium(async (page) => {
          await page.goto(start.authUrl)
          await page.getByLabel(/pw@example\.com/).check()
          await screenshot(page, "mock-signin-1-account")
          await page.getByRole("button", { name: "Continue" }).click()
          await expect(page.getByRole("heading", { name: "Check your email" }).isVisible()).resolves.toBe(true)
          const mail = (await mock.control.outbox()).at(-1)!
          expect(mail.email).toBe("pw@example.com")
          await page.getByLabel("One-time code").fill(mail.code)
          await screenshot(page, "mock-signin-2-otp")
          await page.getByRole("button", { name: "Verify" }).click()
          await page.getByLabel(/Beta/).check()
          await screenshot(page, "mock-signin-3-workspace")
          await page.getByRole("button", { name: "Continue" }).click()
          await page.waitForURL((url) => url.origin === callbackOrigin)
          await screenshot(page, "mock-signin-4-codex-callback")
          expect(new URL(page.url()).pathname).toBe("/success")
        })
        const completed = await server.notification("account/login/completed", (p) => p.loginId === start.loginId)
        if (!completed.success) expect(completed.error).toBe("workspace routing discovery failed")
      } finally {
        await server.close()
        await mock.close()
      }
      const auth = readAuth(codexHome)
      expect(auth.tokens.account_id).toBe("ws-beta")
      expect(JSON.parse(Buffer.from(auth.tokens.id_token.split(".")[1], "base64url").toString()).email).toBe("pw@example.com")
    }))
})

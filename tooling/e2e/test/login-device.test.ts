/**
 * `codex-auth login --device-auth` (the built CLI) against the mock issuer: the code and the
 * phishing warning on stderr, approval through the control API, a 503 from the poll ridden out
 * (the real Codex CLI aborts on it), the credentials stored as Codex stores them — the real
 * Codex CLI then says "Logged in using ChatGPT" — and the fail-fast message when device sign-in
 * is disabled.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { cliPath, runCli, runProgram } from "../src/Cli.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"
import { startCli, userCodeOf } from "./login-process.ts"

describe("codex-auth login --device-auth", () => {
  it("prints the code and warning, rides out a 503, stores what the real Codex CLI reads", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      await mock.control.setFaults("devicetoken", [{ status: 503 }])
      const login = startCli(["--codex-home", codexHome, "login", "--device-auth", "--issuer", mock.url])
      const userCode = await userCodeOf(login)
      await login.waitFor(/Waiting for approval/)
      const err = login.stderr()
      expect(err).toContain(`${mock.url}/codex/device`)
      expect(err).toContain("expires in 15 minutes")
      expect(err).toMatch(/phishing target\. Never share this code/)
      await mock.control.approveDevice(userCode, { email: "team@example.com", workspaceId: "33333333-3333-4333-8333-333333333333" })
      const done = await login.exit
      expect(done.code, done.stderr).toBe(0)
      expect(done.stdout).toBe("")
      expect(done.stderr).toMatch(/did not answer normally \(the issuer answered HTTP 503\); trying again/)
      expect(done.stderr).toContain("Logged in using ChatGPT as team@example.com (plan enterprise, workspace 33333333-3333-4333-8333-333333333333)")

      const auth = readAuth(codexHome)
      expect(auth.auth_mode).toBe("chatgpt")
      expect(auth.OPENAI_API_KEY).toBeNull()
      expect(auth.tokens.account_id).toBe("33333333-3333-4333-8333-333333333333")
      expect(auth.tokens.oauth_provenance).toEqual({ issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
      const requests = await mock.requests()
      const exchange = requests.find((r) => r.kind === "authorization_code")!
      expect(exchange.body).toMatchObject({ grant_type: "authorization_code", redirect_uri: `${mock.url}/deviceauth/callback` })
      expect(requests.some((r) => r.kind === "token_exchange")).toBe(false)

      const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
      expect(codex.output).toContain("Logged in using ChatGPT")
      const status = await runCli(["--codex-home", codexHome, "login", "status", "--json"])
      expect(JSON.parse(status.stdout).account).toMatchObject({ email: "team@example.com", plan: "enterprise" })
    } finally {
      await mock.close()
    }
  })

  it("on a terminal the countdown is one updating line", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      // `script` gives the CLI a pseudo-terminal; the approval comes after a few ticks.
      const approve = (async () => {
        for (let i = 0; i < 100; i++) {
          const pending = (await mock.control.devices()).find((d) => d.status === "pending")
          if (pending !== undefined) {
            await new Promise((r) => setTimeout(r, 2500))
            return mock.control.approveDevice(pending.userCode)
          }
          await new Promise((r) => setTimeout(r, 100))
        }
        throw new Error("no device code was issued")
      })()
      const command = [process.execPath, cliPath, "--codex-home", codexHome, "login", "--device-auth", "--issuer", mock.url].map((a) => `'${a}'`).join(" ")
      const r = await runProgram("script", ["-q", "-e", "-c", command, "/dev/null"], { timeoutMs: 30_000 })
      await approve
      expect(r.code, r.stdout).toBe(0)
      const ticks = r.stdout.match(/\r\u001b\[2KWaiting for approval… 1[45]:\d\d left \(Ctrl-C to cancel\)/g) ?? []
      expect(ticks.length).toBeGreaterThanOrEqual(2)
      expect(r.stdout).not.toMatch(/Waiting for approval \(\d+ min left\)/)
      expect(r.stdout).toContain("Logged in using ChatGPT as user@example.com")
    } finally {
      await mock.close()
    }
  })

  it("device sign-in disabled: fails at once (exit 7) and names the browser and paste-back paths", async () => {
    const mock = await startMockIssuer({ config: { deviceAuthEnabled: false } })
    try {
      const codexHome = existingCodexHome()
      const started = Date.now()
      const r = await runCli(["--codex-home", codexHome, "login", "--device-auth", "--issuer", mock.url])
      expect(r.code).toBe(7)
      expect(Date.now() - started).toBeLessThan(10_000)
      expect(r.stderr).toContain("error: Sign-in failed: device-code sign-in is not enabled for this account or workspace.")
      expect(r.stderr).toContain("codex-auth login --paste")
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
    } finally {
      await mock.close()
    }
  })

  it("credentials the policy refuses (forced workspace) are not stored, and their grant is revoked (exit 4)", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 0 } } })
    try {
      const codexHome = existingCodexHome()
      const login = startCli(["--codex-home", codexHome, "-c", "forced_chatgpt_workspace_id=\"22222222-2222-4222-8222-222222222222\"", "login", "--device-auth", "--issuer", mock.url])
      await mock.control.approveDevice(await userCodeOf(login), { email: "user@example.com" })
      const done = await login.exit
      expect(done.code, done.stderr).toBe(4)
      expect(done.stderr).toContain("forced_chatgpt_workspace_id")
      expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
      const requests = await mock.requests()
      expect(requests.find((r) => r.kind === "authorization_code")?.status).toBe(200)
      expect(requests.filter((r) => r.kind === "revoke").map((r) => r.status)).toEqual([200])
    } finally {
      await mock.close()
    }
  })

  it("policy that disables device code refuses before contacting the issuer (exit 4)", async () => {
    const mock = await startMockIssuer({})
    try {
      const codexHome = existingCodexHome()
      const r = await runCli(["--codex-home", codexHome, "-c", "forced_login_method=\"api\"", "login", "--device-auth", "--issuer", mock.url])
      expect(r.code, r.stderr).toBe(4)
      expect((await mock.requests()).length).toBe(0)
    } finally {
      await mock.close()
    }
  })
})

/**
 * The built device-login worker against the mock issuer, as an IDE or supervisor drives it:
 * stdout carries only JSON lines (`code_issued` → `waiting` → `approved` → `stored`), the last
 * one decides, `cancel` on stdin and SIGTERM stop it with exit 130, a disabled device flow is
 * `failed`/`device_auth_disabled` with exit 7, and the real Codex CLI reads what it stored.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"
import { startWorker } from "./login-process.ts"

const lines = (stdout: string) =>
  stdout.split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>)

describe("codex-auth-device-login-worker", () => {
  it("code_issued → waiting → approved → stored; exit 0; the real Codex CLI reads the credentials", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      const codexHome = existingCodexHome()
      const worker = startWorker(["--codex-home", codexHome, "--issuer", mock.url])
      const issued = JSON.parse((await worker.waitFor(/^\{"type":"code_issued".*\}$/m, { stream: "stdout" }))[0])
      expect(issued.url).toBe(`${mock.url}/codex/device`)
      expect(issued.user_code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
      expect(Date.parse(issued.expires_at) - Date.now()).toBeGreaterThan(14 * 60_000)
      await worker.waitFor(/"type":"waiting"/, { stream: "stdout" })
      await mock.control.approveDevice(issued.user_code, { email: "team@example.com" })
      const done = await worker.exit
      expect(done.code, done.stderr).toBe(0)
      const events = lines(done.stdout)
      expect(events.map((e) => e.type).filter((t, i, a) => a[i - 1] !== t)).toEqual(["code_issued", "waiting", "approved", "stored"])
      expect(events.at(-1)).toEqual({
        type: "stored",
        store: "file",
        location: join(codexHome, "auth.json"),
        email: "team@example.com",
        account_id: "22222222-2222-4222-8222-222222222222",
        plan: "team",
        superseded_revoked: null
      })
      expect(readAuth(codexHome).tokens.oauth_provenance.issuer).toBe(mock.url)
      const codex = await runCodexAsync(["login", "status"], { env: { CODEX_HOME: codexHome } })
      expect(codex.output).toContain("Logged in using ChatGPT")
    } finally {
      await mock.close()
    }
  })

  it("`cancel` on stdin and SIGTERM end with failed/cancelled and exit 130, storing nothing", async () => {
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 } } })
    try {
      for (const how of ["stdin", "signal"] as const) {
        const codexHome = existingCodexHome()
        const worker = startWorker(["--codex-home", codexHome, "--issuer", mock.url])
        await worker.waitFor(/"type":"code_issued"/, { stream: "stdout" })
        if (how === "stdin") {
          worker.write("hello\n")
          worker.write("cancel\n")
        } else worker.child.kill("SIGTERM")
        const done = await worker.exit
        expect(done.code, `${how}: ${done.stderr}`).toBe(130)
        const last = lines(done.stdout).at(-1)!
        expect(last).toMatchObject({ type: "failed", reason: "cancelled", exit_code: 130 })
        expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
        if (how === "stdin") expect(done.stderr).toContain("ignored unknown command on stdin")
      }
    } finally {
      await mock.close()
    }
  })

  it("device sign-in disabled → failed/device_auth_disabled, exit 7; bad flags → failed/usage, exit 2", async () => {
    const mock = await startMockIssuer({ config: { deviceAuthEnabled: false } })
    try {
      const worker = startWorker(["--codex-home", existingCodexHome(), "--issuer", mock.url])
      const done = await worker.exit
      expect(done.code).toBe(7)
      const events = lines(done.stdout)
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({ type: "failed", reason: "device_auth_disabled", exit_code: 7 })
      expect(String(events[0]!["hint"])).toContain("codex-auth login --paste")
      expect(done.stderr).toContain("error: Sign-in failed: device-code sign-in is not enabled")

      const usage = await startWorker(["--store", "floppy"]).exit
      expect(usage.code).toBe(2)
      expect(lines(usage.stdout)).toEqual([expect.objectContaining({ type: "failed", reason: "usage", exit_code: 2 })])
    } finally {
      await mock.close()
    }
  })
})

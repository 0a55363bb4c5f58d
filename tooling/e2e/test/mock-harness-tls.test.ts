/**
 * `codex-auth-harness serve --tls DIR --auto-approve` (the bundle users run) with the real Codex
 * CLI: device login over HTTPS succeeds when the CLI trusts DIR/ca.pem through
 * `CODEX_CA_CERTIFICATE`, and fails without it, so the private CA is really in play.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, harnessPath } from "../src/Cli.ts"
import { existingCodexHome, readAuth, runCodexAsync } from "../src/RealCodex.ts"

let harness: { issuer: string; ca: string; stop: () => Promise<number | null> }

beforeAll(async () => {
  if (!existsSync(harnessPath)) throw new Error(`${harnessPath} does not exist: build it first (pnpm turbo run build)`)
  const dir = join(mkdtempSync(join(tmpdir(), "harness-tls-e2e-")), "certs")
  const child = spawn(process.execPath, [harnessPath, "serve", "--tls", dir, "--auto-approve"], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] })
  const exit = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  let out = ""
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner from the harness:\n${out}`)), 15_000)
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (out.includes("Press Ctrl-C to stop.")) {
        clearTimeout(timer)
        resolve()
      }
    })
    void exit.then(() => reject(new Error(`harness exited:\n${out}`)))
  })
  const line = (prefix: string) => out.split("\n").find((l) => l.startsWith(prefix))!.slice(prefix.length)
  harness = {
    issuer: line("Issuer: "),
    ca: line("CA: "),
    stop: () => {
      child.kill("SIGTERM")
      return exit
    }
  }
}, 30_000)

afterAll(async () => {
  expect(await harness.stop()).toBe(0)
})

describe("codex-auth-harness serve --tls --auto-approve with the real Codex CLI", () => {
  it("device login over HTTPS completes unattended when the CLI trusts the written CA", async () => {
    expect(harness.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(harness.ca).toMatch(/certs\/ca\.pem$/)
    const codexHome = existingCodexHome()
    const env = { CODEX_HOME: codexHome, CODEX_CA_CERTIFICATE: harness.ca }
    const login = await runCodexAsync(["login", "--device-auth", "--experimental_issuer", harness.issuer], { env })
    expect(login.code, login.output).toBe(0)
    expect(readAuth(codexHome).tokens.oauth_provenance?.issuer).toBe(harness.issuer)
    const status = await runCodexAsync(["login", "status"], { env })
    expect(status.output).toContain("Logged in using ChatGPT")
  })

  it("without the CA the real CLI refuses the mock's certificate", async () => {
    const codexHome = existingCodexHome()
    const login = await runCodexAsync(["login", "--device-auth", "--experimental_issuer", harness.issuer], { env: { CODEX_HOME: codexHome } })
    expect(login.code).not.toBe(0)
    expect(existsSync(join(codexHome, "auth.json"))).toBe(false)
  })
})

/**
 * `codex-auth-harness scenario`: the harness drives the built CLI through every flow against its
 * in-process mock, and fails when the CLI misbehaves.
 */
import { writeFileSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { cliPath, codexBin, harnessPath, runNode } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"

describe("codex-auth-harness scenario", () => {
  it("runs every flow of the built CLI over HTTPS and the real Codex CLI reads the result", async () => {
    const r = await withFixedPortsLock(() =>
      runNode(harnessPath, ["scenario", "all", "--tls", "--cli", cliPath, "--codex", codexBin], { timeoutMs: 120_000 })
    )
    expect(r.code, r.stdout + r.stderr).toBe(0)
    for (const name of ["apikey", "device", "browser", "paste", "refresh", "logout", "interop"]) expect(r.stdout).toContain(`ok: ${name}`)
    expect(r.stdout).toContain("1 refresh request(s) reached the issuer; refresh token rotated: true")
    expect(r.stdout).toContain("All 7 scenario(s) passed.")
  }, 150_000)

  it("fails (exit 1) and names the step when the CLI does not do what it says", async () => {
    const fake = join(mkdtempSync(join(tmpdir(), "codex-auth-fake-cli-")), "fake.mjs")
    writeFileSync(fake, "process.stdout.write('{}\\n')\n")
    const r = await runNode(harnessPath, ["scenario", "apikey", "--cli", fake], { timeoutMs: 60_000 })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain("FAILED: apikey")
    expect(r.stderr).toContain("scenario(s) failed: apikey")
  })
})

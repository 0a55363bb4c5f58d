/**
 * Every built program refuses a Node.js older than 22.19 with a plain message and exit 9, instead
 * of crashing inside Effect. The old Node is simulated by a preload that rewrites
 * `process.versions.node`, so the test runs the same on any host.
 */
import { describe, expect, it } from "vitest"
import { cliPath, harnessPath, runProgram, workerPath } from "../src/Cli.ts"

const pretend = (version: string) =>
  `data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:${JSON.stringify(version)}}});Object.defineProperty(process,"version",{value:"v${version}"})`

describe("Node.js version guard", () => {
  for (const [name, path, args] of [
    ["codex-auth (fast path)", cliPath, ["token"]],
    ["codex-auth (full CLI)", cliPath, ["logout", "--local-only"]],
    ["device-login worker", workerPath, []],
    ["harness", harnessPath, ["serve"]]
  ] as const) {
    it(`${name}: exit 9 and a hint on Node 20`, async () => {
      const r = await runProgram(process.execPath, ["--import", pretend("20.20.2"), path, ...args], { timeoutMs: 20_000 })
      expect(r.code, r.stderr).toBe(9)
      expect(r.stderr).toContain("needs Node.js 22.19 or newer; this is v20.20.2")
      expect(r.stderr).toContain("hint:")
      expect(r.stderr).toContain("https://nodejs.org")
      expect(r.stdout).toBe("")
    })
  }

  it("runs on Node 22.19", async () => {
    const r = await runProgram(process.execPath, ["--import", pretend("22.19.0"), cliPath, "--version"], { timeoutMs: 20_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("codex-auth")
  })
})

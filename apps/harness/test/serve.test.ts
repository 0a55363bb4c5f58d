import { assert, describe, it } from "@effect/vitest"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { beforeAll } from "vitest"
import { CLIENT_ID, ensureBundle, post, run, serve } from "./harness.ts"

beforeAll(ensureBundle)

describe("codex-auth-harness serve", () => {
  it("prints `Issuer: <url>` first, serves with --auto-approve, and stops with exit 0 on SIGTERM", async () => {
    const s = await serve(["--auto-approve"])
    try {
      assert.match(s.lines[0]!, /^Issuer: http:\/\/127\.0\.0\.1:\d+$/)
      assert.include(s.lines.join("\n"), "Auto-approve: on")
      const uc = (await (await post(`${s.issuer}/api/accounts/deviceauth/usercode`, { client_id: CLIENT_ID })).json()) as { device_auth_id: string; user_code: string }
      const poll = await post(`${s.issuer}/api/accounts/deviceauth/token`, { device_auth_id: uc.device_auth_id, user_code: uc.user_code })
      assert.strictEqual(poll.status, 200, "auto-approve approves device codes at once")
    } finally {
      s.child.kill("SIGTERM")
    }
    const { code, stdout } = await s.exit
    assert.strictEqual(code, 0)
    assert.include(stdout, "Stopped.")
  })

  it("--port binds that port; a second harness on it fails with exit 6 and a hint", async () => {
    const first = await serve([])
    try {
      const port = new URL(first.issuer).port
      const second = run(["serve", "--port", port])
      assert.strictEqual(second.status, 6)
      assert.include(second.stderr, `127.0.0.1:${port}`)
      assert.include(second.stderr, "hint: Pick another --port")
    } finally {
      first.child.kill("SIGINT")
    }
    assert.strictEqual((await first.exit).code, 0)
  })

  it("an account e-mail with terminal escapes from --config is printed escaped, never raw", async () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-config-"))
    const path = join(dir, "mock.toml")
    writeFileSync(path, `[[accounts]]\nemail = "evil\\u001b]0;pwned\\u0007@example.com"\nplan = "pro"\n`)
    const s = await serve(["--config", path])
    try {
      const text = s.lines.join("\n")
      assert.include(text, "Accounts: evil\\x1b]0;pwned\\x07@example.com")
      assert.notInclude(text, "\u001b")
      assert.notInclude(text, "\u0007")
    } finally {
      s.child.kill("SIGTERM")
    }
    await s.exit
  })

  it("--config loads accounts from TOML; a bad file exits 8 naming the file and key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-config-"))
    const good = join(dir, "mock.toml")
    writeFileSync(good, `[[accounts]]\nemail = "demo@example.com"\nplan = "pro"\n[device]\ninterval_seconds = 1\n`)
    const s = await serve(["--config", good])
    try {
      assert.include(s.lines.join("\n"), "Accounts: demo@example.com (default demo@example.com)")
      const config = (await (await fetch(`${s.issuer}/_harness/config`)).json()) as { device: { intervalSeconds: number } }
      assert.strictEqual(config.device.intervalSeconds, 1)
    } finally {
      s.child.kill("SIGTERM")
    }
    await s.exit
    const bad = join(dir, "bad.toml")
    writeFileSync(bad, `[tokens]\nreuse_grace_ms = -1\n`)
    const failed = run(["serve", "--config", bad])
    assert.strictEqual(failed.status, 8)
    assert.include(failed.stderr, bad)
    assert.include(failed.stderr, "reuseGraceMs")
  })

  it("unknown flags exit 2 with a usage hint", () => {
    const r = run(["serve", "--prot", "5"])
    assert.strictEqual(r.status, 2)
    assert.include(r.stderr, "Unrecognized flag: --prot")
  })

  it("check-config prints the resolved configuration", () => {
    const dir = mkdtempSync(join(tmpdir(), "harness-check-"))
    const file = join(dir, "mock.json")
    writeFileSync(file, JSON.stringify({ accounts: [{ email: "a@example.com", password_only: true }] }))
    const r = run(["check-config", "--file", file])
    assert.strictEqual(r.status, 0, r.stderr)
    const config = JSON.parse(r.stdout) as { accounts: Array<{ passwordOnly: boolean; workspaces: Array<unknown> }>; tokens: { reuseGraceMs: number } }
    assert.isTrue(config.accounts[0]!.passwordOnly)
    assert.strictEqual(config.accounts[0]!.workspaces.length, 1)
    assert.strictEqual(config.tokens.reuseGraceMs, 2000)
  })
})

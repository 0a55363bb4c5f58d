import { assert, describe, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MockConfig, startMockIssuer } from "../src/index.ts"

const tempFile = (name: string, text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), "mock-config-")), name)
  writeFileSync(path, text)
  return path
}

describe("MockConfig", () => {
  it("defaults: user@example.com (plus, one personal workspace) and team@example.com (team, two workspaces)", () => {
    const c = MockConfig.defaults
    assert.deepStrictEqual(c.accounts.map((a) => [a.email, a.plan, a.workspaces.length]), [["user@example.com", "plus", 1], ["team@example.com", "team", 2]])
    assert.strictEqual(c.defaultAccount, "user@example.com")
    assert.strictEqual(c.clientId, "app_EMoamEEZ73f0CkXaXp7hrann")
    assert.strictEqual(c.tokens.accessTokenTtlSeconds, 3600)
    assert.strictEqual(c.tokens.reuseGraceMs, 2000)
    assert.strictEqual(c.device.intervalSeconds, 5)
    assert.strictEqual(c.device.expirySeconds, 900)
    assert.isTrue(c.deviceAuthEnabled)
  })

  it("derives stable ids for accounts given only an email", () => {
    const a = Result.getOrThrow(MockConfig.decode({ accounts: [{ email: "x@example.com" }] }, "test"))
    const b = Result.getOrThrow(MockConfig.decode({ accounts: [{ email: "x@example.com" }] }, "test"))
    assert.deepStrictEqual(a.accounts[0], b.accounts[0])
    assert.match(a.accounts[0]!.userId, /^user-[0-9a-f]{24}$/)
    assert.match(a.accounts[0]!.workspaces[0]!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it.effect("loads TOML with snake_case keys", () =>
    Effect.gen(function*() {
      const path = tempFile(
        "mock.toml",
        `device_auth_enabled = false
clock_offset_seconds = -30
[tokens]
access_token_ttl_seconds = 120
reuse_grace_ms = 0
[device]
interval_seconds = 1
[[accounts]]
email = "pw@example.com"
password_only = true
plan = "pro"
[[accounts.workspaces]]
id = "ws-1"
name = "One"
`
      )
      const c = yield* MockConfig.loadFile(path)
      assert.isFalse(c.deviceAuthEnabled)
      assert.strictEqual(c.clockOffsetSeconds, -30)
      assert.strictEqual(c.tokens.accessTokenTtlSeconds, 120)
      assert.strictEqual(c.tokens.reuseGraceMs, 0)
      assert.strictEqual(c.device.intervalSeconds, 1)
      assert.strictEqual(c.accounts[0]!.passwordOnly, true)
      assert.strictEqual(c.accounts[0]!.workspaces[0]!.plan, "pro")
      assert.strictEqual(c.defaultAccount, "pw@example.com")
    }))

  it.effect("loads JSON with camelCase keys", () =>
    Effect.gen(function*() {
      const path = tempFile("mock.json", JSON.stringify({ accounts: [{ email: "a@example.com", deviceLogin: false }], tokens: { refreshTokenTtlSeconds: 60 } }))
      const c = yield* MockConfig.loadFile(path)
      assert.isFalse(c.accounts[0]!.deviceLogin)
      assert.strictEqual(c.tokens.refreshTokenTtlSeconds, 60)
    }))

  it.effect("errors name the file and the offending key; unknown keys are refused", () =>
    Effect.gen(function*() {
      const typo = tempFile("typo.toml", "[tokens]\naccess_token_ttl = 5\n")
      const e1 = yield* Effect.flip(MockConfig.loadFile(typo))
      assert.strictEqual(e1._tag, "ConfigError")
      assert.include(e1.userMessage, typo)
      assert.include(e1.userMessage, "accessTokenTtl")
      const badToml = tempFile("bad.toml", "accounts = [\n")
      assert.include((yield* Effect.flip(MockConfig.loadFile(badToml))).userMessage, "not valid TOML")
      const badType = tempFile("bad.json", JSON.stringify({ device: { intervalSeconds: -1 } }))
      assert.include((yield* Effect.flip(MockConfig.loadFile(badType))).userMessage, "intervalSeconds")
      const missing = yield* Effect.flip(MockConfig.loadFile(join(tmpdir(), "definitely-missing-mock.toml")))
      assert.include(missing.userMessage, "ENOENT")
    }))

  it("rejects duplicate emails, empty account lists and an unknown default account", () => {
    const dup = MockConfig.decode({ accounts: [{ email: "a@x" }, { email: "a@x" }] }, "opts")
    assert.isTrue(Result.isFailure(dup) && dup.failure.userMessage.includes("duplicate"))
    assert.isTrue(Result.isFailure(MockConfig.decode({ accounts: [] }, "opts")))
    const def = MockConfig.decode({ defaultAccount: "nobody@x" }, "opts")
    assert.isTrue(Result.isFailure(def) && def.failure.userMessage.includes("defaultAccount"))
  })

  it("the server refuses to start with an invalid config", async () => {
    const error = await startMockIssuer({ config: { tokens: { reuseGraceMs: -5 } } }).then(() => undefined, (e: unknown) => e)
    assert.strictEqual((error as { _tag: string })._tag, "ConfigError")
  })

  it.effect("configFile option is honoured", () =>
    Effect.gen(function*() {
      const path = tempFile("c.json", JSON.stringify({ accounts: [{ email: "file@example.com" }] }))
      const running = yield* Effect.promise(() => startMockIssuer({ configFile: path }))
      const config = yield* Effect.promise(() => running.control.config())
      yield* Effect.promise(() => running.close())
      assert.strictEqual(config.accounts[0]!.email, "file@example.com")
      const both = yield* Effect.promise(() => startMockIssuer({ configFile: path, config: {} }).then(() => undefined, (e: unknown) => e))
      assert.strictEqual((both as { _tag: string })._tag, "ConfigError")
    }))
})

/**
 * Property and fuzz tests for configuration, end to end: random user, managed and requirements
 * files plus random `-c` arguments go through `CodexConfig.load`, which must either resolve or fail
 * with a typed `ConfigError` naming a file — never a defect. Complements the parser-level
 * properties in TomlSource.test.ts and the owned-key property in CodexConfig.test.ts.
 */
import { Errors } from "@codex-auth/core"
import { CodexConfig, TomlSource } from "@codex-auth/policy"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Result } from "effect"
import fc from "fast-check"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "./fixtures.ts"

const ownedKeys = [
  "forced_login_method",
  "forced_chatgpt_workspace_id",
  "cli_auth_credentials_store",
  "allow_device_code_login",
  "allowed_login_methods",
  "allowed_chatgpt_workspace_ids"
]

const tomlValue = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.integer().map(String),
  fc.double({ noNaN: true }).map((d) => (Number.isFinite(d) ? String(d) : "inf")),
  fc.constantFrom("true", "false", "[]", "[\"chatgpt\"]", "[\"api\", \"chatgpt\"]", "[1, \"a\"]", "{ a = 1 }", "\"chatgpt\"", "\"api\"", "\"file\"", "\"keyring\"", "\"auto\"", "\"ephemeral\"", "1979-05-27T07:32:00Z", "\"\"", "[\"\"]", "'''multi\nline'''")
)

const keyLine = fc.tuple(fc.constantFrom(...ownedKeys, "model", "a.b", "\"quoted key\"", "forced_login_method.x"), tomlValue).map(([k, v]) => `${k} = ${v}`)
const noise = fc.array(
  fc.constantFrom("[", "]", "[[", "]]", "=", "\"", "'", "\"\"\"", "\n", "#", ".", ",", "{", "}", "a", " ", "1", "true", "\\", "\r\n", "\u0000", "\uFEFF"),
  { maxLength: 40 }
).map((xs) => xs.join(""))
const tableHeader = fc.constantFrom("[profile]", "[features]", "[[list]]", "[a.b]", "[forced_login_method]")
const configText = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.oneof(keyLine, tableHeader), { maxLength: 6 }).map((ls) => ls.join("\n")) },
  { weight: 1, arbitrary: noise },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 80 }) }
)
const overrideArg = fc.oneof(
  fc.tuple(fc.constantFrom(...ownedKeys, "model", "a.b", ""), tomlValue).map(([k, v]) => `${k}=${v}`),
  fc.string({ maxLength: 30 })
)

/** Asserts an exit is a success or a failure with only ConfigErrors in it (no defect, no interruption). */
const assertTyped = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return
  assert.strictEqual(Cause.hasDies(exit.cause), false, Cause.pretty(exit.cause))
  const errors = exit.cause.reasons.filter(Cause.isFailReason).map((r) => r.error)
  assert.isAbove(errors.length, 0)
  for (const e of errors) {
    assert.instanceOf(e, Errors.ConfigError)
    const ce = e as Errors.ConfigError
    assert.include(ce.userMessage, ce.file)
    assert.isAbove(ce.hint.length, 0)
  }
}

describe("configuration loading (property)", () => {
  it("random user, managed and requirements files and -c arguments: resolved or a ConfigError, never a defect", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(configText, { nil: undefined }),
        fc.option(configText, { nil: undefined }),
        fc.option(configText, { nil: undefined }),
        fc.array(overrideArg, { maxLength: 3 }),
        async (user, managed, requirements, overrides) => {
          const root = tempDir()
          const codexHome = join(root, "home")
          mkdirSync(codexHome)
          if (user !== undefined) writeFileSync(join(codexHome, "config.toml"), user)
          if (managed !== undefined) writeFileSync(join(root, "managed.toml"), managed)
          if (requirements !== undefined) writeFileSync(join(root, "requirements.toml"), requirements)
          const exit = await Effect.runPromiseExit(CodexConfig.load({
            codexHome,
            overrides,
            managedConfigPath: join(root, "managed.toml"),
            requirementsPath: join(root, "requirements.toml")
          }))
          assertTyped(exit)
          if (Exit.isSuccess(exit)) {
            // Whatever resolves gives a store mode a caller can use.
            const mode = CodexConfig.effectiveStoreMode(exit.value, undefined)
            assert.include(["file", "keyring", "auto", "ephemeral"], mode.value)
          }
        }
      ),
      { numRuns: 200 }
    )
  })

  it("-c arguments never throw: a dotted path, or a ConfigError naming -c", () => {
    fc.assert(
      fc.property(fc.oneof(overrideArg, fc.string({ unit: "binary", maxLength: 60 })), (raw) => {
        const r = TomlSource.parseOverride(raw)
        if (Result.isSuccess(r)) {
          assert.isAbove(r.success.path.length, 0)
          assert.strictEqual(r.success.raw, raw)
        } else {
          assert.strictEqual(r.failure.file, TomlSource.OVERRIDE_FILE)
          assert.isBelow(r.failure.userMessage.length, 400)
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("pathological nesting and size are a ConfigError or a table, never a stack overflow", () => {
    const cases = [
      `a = ${"[".repeat(100_000)}`,
      `a = ${"[".repeat(50_000)}${"]".repeat(50_000)}`,
      `a = ${"{ b = ".repeat(20_000)}1${" }".repeat(20_000)}`,
      `[${Array.from({ length: 20_000 }, (_, i) => `k${i}`).join(".")}]\nx = 1`,
      `forced_login_method = "${"x".repeat(1_000_000)}"`,
      "x = 1\n".repeat(50_000)
    ]
    for (const text of cases) {
      const r = TomlSource.parseDocument(text, "deep.toml")
      if (Result.isFailure(r)) {
        assert.strictEqual(r.failure.file, "deep.toml")
        assert.isBelow(r.failure.userMessage.length, 400)
      }
    }
  })
})

import { describe, it, assert } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { Settings, TomlSource } from "@codex-auth/policy"

const failureOf = <A, E>(r: Result.Result<A, E>): E | undefined => (Result.isFailure(r) ? r.failure : undefined)

const parseOk = (text: string) => {
  const r = TomlSource.parseDocument(text, "/x/config.toml")
  if (Result.isFailure(r)) throw new Error(r.failure.userMessage)
  return r.success
}

describe("parseDocument", () => {
  it("parses a real-looking config.toml with many unrelated Codex settings", () => {
    const table = parseOk(`model = "gpt-5"
approval_policy = "on-request"
forced_login_method = "chatgpt"

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]

[profiles.work]
model = "o3"
`)
    assert.strictEqual(table["forced_login_method"], "chatgpt")
    assert.strictEqual(table["model"], "gpt-5")
  })

  it("a syntax error names the file and the line the parser stopped at", () => {
    const r = TomlSource.parseDocument("a = 1\nb = 2\nforced_login_method = chatgpt\n", "/etc/codex/managed_config.toml")
    const e = failureOf(r)!
    assert.strictEqual(e._tag, "ConfigError")
    assert.strictEqual(e.file, "/etc/codex/managed_config.toml")
    assert.strictEqual(e.line, 3)
    assert.include(e.userMessage, "/etc/codex/managed_config.toml:3")
    assert.include(e.userMessage, "not valid TOML")
    assert.notInclude(e.detail, "\n")
  })

  it("a duplicate key is a syntax error at the second definition", () => {
    const e = failureOf(TomlSource.parseDocument("x = 1\n\nx = 2\n", "f.toml"))!
    assert.strictEqual(e.line, 3)
  })

  it("an unterminated multi-line string is reported with a line", () => {
    const e = failureOf(TomlSource.parseDocument('a = """\nnever closed\n', "f.toml"))!
    assert.isNumber(e.line)
  })

  it("never throws and always names the file (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const r = TomlSource.parseDocument(text, "prop.toml")
        if (Result.isSuccess(r)) return typeof r.success === "object"
        const e = r.failure
        return e._tag === "ConfigError" && e.file === "prop.toml" &&
          (e.line === undefined || (Number.isInteger(e.line) && e.line >= 1 && e.line <= text.split(/\r?\n|\r/).length + 1))
      }),
      { numRuns: 500 }
    )
  })

  it("never throws on TOML-ish noise (property)", () => {
    const tomlish = fc.array(
      fc.constantFrom("[", "]", "[[", "]]", "=", "\"", "'", "\"\"\"", "'''", "\n", "#", ".", ",", "{", "}", "a", "forced_login_method", " ", "1", "true", "\\"),
      { maxLength: 60 }
    ).map((xs) => xs.join(""))
    fc.assert(
      fc.property(tomlish, (text) => {
        const r = TomlSource.parseDocument(text, "noise.toml")
        if (Result.isFailure(r)) return r.failure.file === "noise.toml"
        // whatever parses must also validate without throwing
        const v = Settings.validateConfigTable(r.success, { file: "noise.toml", text })
        return Result.isSuccess(v) || v.failure._tag === "ConfigError"
      }),
      { numRuns: 1000 }
    )
  })
})

describe("findKeyLine", () => {
  it("finds top-level bare and quoted keys", () => {
    assert.strictEqual(TomlSource.findKeyLine("a = 1\n\nforced_login_method = \"sso\"\n", ["forced_login_method"]), 3)
    assert.strictEqual(TomlSource.findKeyLine("a = 1\n\"forced_login_method\" = \"sso\"\n", ["forced_login_method"]), 2)
    assert.strictEqual(TomlSource.findKeyLine("a = 1\n  'forced_login_method'   =\"x\"\n", ["forced_login_method"]), 2)
  })

  it("does not confuse a key of the same name inside a table", () => {
    const text = "[profiles.work]\nforced_login_method = \"api\"\n"
    assert.strictEqual(TomlSource.findKeyLine(text, ["forced_login_method"]), undefined)
    assert.strictEqual(TomlSource.findKeyLine(text, ["profiles", "work", "forced_login_method"]), 2)
  })

  it("handles dotted keys, table headers and arrays of tables", () => {
    const text = "a.b.c = 1\n[x]\ny.z = 2\n[[arr]]\nk = 3\n[t . \"q.r\"]\ns = 4\n"
    assert.strictEqual(TomlSource.findKeyLine(text, ["a", "b", "c"]), 1)
    assert.strictEqual(TomlSource.findKeyLine(text, ["x", "y", "z"]), 3)
    assert.strictEqual(TomlSource.findKeyLine(text, ["arr", "k"]), 5)
    assert.strictEqual(TomlSource.findKeyLine(text, ["t", "q.r", "s"]), 7)
    assert.strictEqual(TomlSource.findKeyLine(text, ["x"]), 2)
  })

  it("a key made a table by a header is found at the header", () => {
    assert.strictEqual(TomlSource.findKeyLine("a = 1\n[forced_chatgpt_workspace_id]\nx = 1\n", ["forced_chatgpt_workspace_id"]), 2)
  })

  it("ignores look-alikes inside multi-line strings and multi-line arrays", () => {
    const text = [
      "notes = \"\"\"",
      "forced_login_method = \"decoy\"",
      "\"\"\"",
      "list = [",
      "  \"forced_login_method = 1\",",
      "  { forced_login_method = 2 },",
      "]",
      "lit = '''",
      "forced_login_method = 3'''",
      "forced_login_method = \"sso\" # the real one"
    ].join("\n")
    assert.strictEqual(TomlSource.findKeyLine(text, ["forced_login_method"]), 10)
  })

  it("finds the parent line when the key sits in an inline table", () => {
    assert.strictEqual(TomlSource.findKeyLine("a = 1\nprofiles = { work = { x = 1 } }\n", ["profiles", "work", "x"]), 2)
  })

  it("finds the key line wherever it is placed among generated noise (property)", () => {
    const bare = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/).filter((k) => k !== "forced_login_method")
    const scalar = fc.oneof(fc.integer().map(String), fc.constantFrom("true", "false"), fc.string({ maxLength: 10 }).map((s) => JSON.stringify(s)))
    const entry = fc.tuple(bare, scalar).map(([k, v]) => `${k} = ${v}`)
    const comment = fc.string({ maxLength: 20 }).filter((s) => !/[\n\r]/.test(s)).map((s) => `# ${s}`)
    const docTop = fc.uniqueArray(entry, { maxLength: 8, selector: (l) => l.split(" = ")[0] })
    fc.assert(
      fc.property(docTop, fc.array(comment, { maxLength: 3 }), fc.nat(), (entries, comments, pos) => {
        const top = [...comments, ...entries]
        const at = pos % (top.length + 1)
        const lines = [...top.slice(0, at), "forced_login_method = \"sso\"", ...top.slice(at), "[tail]", "forced_login_method = \"api\""]
        const text = lines.join("\n")
        const table = parseOk(text)
        const v = Settings.validateConfigTable(table, { file: "gen.toml", text })
        const e = failureOf(v)
        return e !== undefined && e.key === "forced_login_method" && e.line === at + 1
      }),
      { numRuns: 300 }
    )
  })
})

describe("parseOverride (Codex's -c semantics)", () => {
  const ok = (raw: string) => {
    const r = TomlSource.parseOverride(raw)
    if (Result.isFailure(r)) throw new Error(r.failure.userMessage)
    return r.success
  }

  it("parses the value as TOML", () => {
    assert.deepStrictEqual(ok("forced_login_method=\"api\"").value, "api")
    assert.deepStrictEqual(ok("forced_chatgpt_workspace_id=[\"a\", \"b\"]").value, ["a", "b"])
    assert.deepStrictEqual(ok("allow_device_code_login=false").value, false)
  })

  it("falls back to the raw text when it is not a TOML value, and trims", () => {
    assert.deepStrictEqual(ok(" forced_login_method = api ").value, "api")
    assert.deepStrictEqual(ok(" forced_login_method = api ").path, ["forced_login_method"])
  })

  it("splits on the first = and dotted paths on .", () => {
    const o = ok("a.b=x=y")
    assert.deepStrictEqual(o.path, ["a", "b"])
    assert.strictEqual(o.value, "x=y")
  })

  it("refuses a missing = or an empty key", () => {
    assert.strictEqual(failureOf(TomlSource.parseOverride("forced_login_method"))?.file, TomlSource.OVERRIDE_FILE)
    assert.include(failureOf(TomlSource.parseOverride(" =api"))!.detail, "empty key")
  })

  it("never throws (property)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (raw) => {
      const r = TomlSource.parseOverride(raw)
      return Result.isSuccess(r) ? r.success.path.length >= 1 : r.failure._tag === "ConfigError"
    }), { numRuns: 500 })
  })
})

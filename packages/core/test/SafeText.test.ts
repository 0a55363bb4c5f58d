import { SafeText } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"

const RAW = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

describe("SafeText.escapeLines", () => {
  it("keeps line breaks and escapes everything else, line by line", () => {
    assert.strictEqual(SafeText.escapeLines("one\u001b[2J\ntwo\r\u0007"), "one\\x1b[2J\ntwo\\x0d\\x07")
  })
})

describe("SafeText.escape", () => {
  it("makes ESC, BEL, newlines, DEL, C1 and bidi overrides visible", () => {
    assert.strictEqual(SafeText.escape("a\u001b]0;title\u0007b"), "a\\x1b]0;title\\x07b")
    assert.strictEqual(SafeText.escape("x\u001b[2J\r\ny"), "x\\x1b[2J\\x0d\\x0ay")
    assert.strictEqual(SafeText.escape("\u007f\u009b\u0085"), "\\x7f\\x9b\\x85")
    assert.strictEqual(SafeText.escape("evil\u202egnp.exe\u2066\u2069"), "evil\\u202egnp.exe\\u2066\\u2069")
    assert.strictEqual(SafeText.escape("user@example.com ünïcödé 日本"), "user@example.com ünïcödé 日本")
  })

  it("never leaves a control or bidi character (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => !RAW.test(SafeText.escape(s))))
  })
})

describe("SafeText.json", () => {
  it("is valid JSON decoding to the same values, with no raw control character (property)", () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.string({ unit: "binary" })), (value) => {
      const text = SafeText.json(value)
      assert.deepStrictEqual(JSON.parse(text), value)
      return !RAW.test(text.replace(/\n {0,2}/g, ""))
    }))
  })

  it("escapes C1 and bidi characters that JSON.stringify keeps", () => {
    const text = SafeText.json({ email: "a\u009b2J\u202e@x" }, 0)
    assert.strictEqual(text, "{\"email\":\"a\\u009b2J\\u202e@x\"}")
  })
})

describe("SafeText.isWellFormedSecret", () => {
  it("accepts opaque printable tokens and refuses control characters and whitespace", () => {
    for (const ok of ["sk-proj-abc123", "eyJhbGciOiJub25lIn0.eyJlIjoxfQ.", "rt_ABC-def.ghi~+/="]) assert.isTrue(SafeText.isWellFormedSecret(ok), ok)
    for (const bad of ["", "a b", "a\nb", "a\tb", "a\u001bb", "a\u0007", "a\u00a0b", "a\u202eb", "a\u009bb", "\ufeffab"]) {
      assert.isFalse(SafeText.isWellFormedSecret(bad), JSON.stringify(bad))
    }
    assert.strictEqual(SafeText.secretProblem("a\u001b"), "contains control characters")
    assert.strictEqual(SafeText.secretProblem("a b"), "contains whitespace")
  })
})

describe("SafeText.looksLikeSecret / argument / hideSecretArguments", () => {
  it("recognises keys, tokens and long opaque strings, not commands, flags or paths", () => {
    for (const s of ["sk-abc", "sk-proj-0123456789", "at-xyz", "rt-1", "eyJhbGciOi", "aaa.bbb.ccc", "eyJ0.eyJ1.", "abcdefghijABCDEFGHIJ", "--with-api-key=sk-123", "KEY=sk-abc", "--sk-proj-123", "--SeCrEtOpaqueValue0123456789"]) {
      assert.isTrue(SafeText.looksLikeSecret(s), s)
    }
    for (const s of ["login", "status", "--json", "--experimental_client-id", "--codex-home=/tmp/a-very-long-directory-name-here", "/tmp/codex-auth-e2e-AbCdEf/codex-home", "https://auth.openai.com", "10m", "forced_login_method=\"api\"", "frobnicate"]) {
      assert.isFalse(SafeText.looksLikeSecret(s), s)
    }
  })

  it("quotes and escapes an ordinary argument, hides a secret-shaped one", () => {
    assert.strictEqual(SafeText.argument("frob\u001b[2J"), "\"frob\\x1b[2J\"")
    assert.strictEqual(SafeText.argument("sk-live-123"), SafeText.HIDDEN_ARGUMENT)
  })

  it("removes secret-shaped arguments from any message", () => {
    const argv = ["login", "--timeout", "sk-proj-SECRET123", "--issuer=eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.sig"]
    const text = SafeText.hideSecretArguments("--timeout sk-proj-SECRET123 is not a duration; eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.sig login", argv)
    assert.notInclude(text, "SECRET123")
    assert.notInclude(text, "eyJhbGci")
    assert.include(text, "login")
    assert.include(text, SafeText.HIDDEN_ARGUMENT)
  })
})

import { AuthDotJson, Jwt } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { idTokenFor, makeJwt } from "./fixtures.ts"

const ok = (text: string) => {
  const r = AuthDotJson.parse(text, "auth.json")
  if (Result.isFailure(r)) throw new Error(r.failure.userMessage)
  return r.success
}

describe("AuthDotJson", () => {
  it("writes an API-key document byte-for-byte as `codex login --with-api-key` does", () => {
    const doc = AuthDotJson.fromApiKey(Redacted.make("sk-test-abcdef123456"))
    // Observed from @openai/codex 0.169.0: pretty-printed, 2 spaces, no trailing newline.
    assert.strictEqual(
      AuthDotJson.toFileText(doc),
      "{\n  \"auth_mode\": \"apikey\",\n  \"OPENAI_API_KEY\": \"sk-test-abcdef123456\"\n}"
    )
    assert.strictEqual(AuthDotJson.toCompactText(doc), "{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-test-abcdef123456\"}")
  })

  it("writes the ChatGPT form with Codex's key order and null API key", () => {
    const idToken = idTokenFor({ accountId: "acct-9" })
    const doc = AuthDotJson.fromChatGptTokens({
      idToken: Redacted.make(idToken),
      accessToken: Redacted.make("at"),
      refreshToken: Redacted.make("rt"),
      provenance: { issuer: "http://127.0.0.1:1", clientId: "app_x" },
      now: new Date("2026-01-02T03:04:05.000Z")
    })
    const value = JSON.parse(AuthDotJson.toFileText(doc))
    assert.deepStrictEqual(Object.keys(value), ["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"])
    assert.deepStrictEqual(Object.keys(value.tokens), ["id_token", "access_token", "refresh_token", "account_id", "oauth_provenance"])
    assert.strictEqual(value.OPENAI_API_KEY, null)
    assert.strictEqual(value.tokens.account_id, "acct-9")
    assert.strictEqual(value.last_refresh, "2026-01-02T03:04:05.000Z")
    assert.deepStrictEqual(value.tokens.oauth_provenance, { issuer: "http://127.0.0.1:1", client_id: "app_x" })
  })

  it("keeps unknown fields, in order, when a document is rewritten", () => {
    const text = JSON.stringify({
      auth_mode: "chatgpt",
      OPENAI_API_KEY: null,
      tokens: { id_token: idTokenFor({}), access_token: "a", refresh_token: "r", account_id: "x", login_owner_id: "abc", future: { n: 1 } },
      last_refresh: "2026-01-01T00:00:00Z",
      agent_identity: { id: 7 },
      personal_access_token: null
    }, null, 2)
    const doc = ok(text)
    assert.strictEqual(AuthDotJson.toFileText(doc), text)
  })

  it("keeps an unknown key named __proto__ (top level and in tokens) as a plain key, without touching any prototype", () => {
    const text = [
      "{",
      "  \"auth_mode\": \"chatgpt\",",
      "  \"OPENAI_API_KEY\": null,",
      "  \"tokens\": {",
      `    "id_token": "${idTokenFor({})}",`,
      "    \"access_token\": \"a\",",
      "    \"refresh_token\": \"r\",",
      "    \"__proto__\": {",
      "      \"polluted\": 1",
      "    }",
      "  },",
      "  \"last_refresh\": \"2026-01-01T00:00:00Z\",",
      "  \"__proto__\": {",
      "    \"polluted\": 2",
      "  }",
      "}"
    ].join("\n")
    const doc = ok(text)
    assert.strictEqual(AuthDotJson.toFileText(doc), text)
    assert.strictEqual(Object.getPrototypeOf(doc.extra), Object.prototype)
    assert.strictEqual(({} as Record<string, unknown>)["polluted"], undefined)
    assert.strictEqual((AuthDotJson.toJsonValue(doc) as Record<string, unknown>)["polluted"], undefined)
  })

  it("round-trips what it writes", () => {
    fc.assert(fc.property(fc.string().map((s) => s.replace(/\s/g, "_")), fc.option(fc.string(), { nil: undefined }), (key, lastRefresh) => {
      const doc = { ...AuthDotJson.fromApiKey(Redacted.make(key)), lastRefresh }
      const back = ok(AuthDotJson.toFileText(doc))
      return Redacted.value(back.apiKey!) === key && back.lastRefresh === lastRefresh
    }))
  })

  it("never throws on arbitrary input and never echoes long values in errors", () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
      const r = AuthDotJson.parse(text, "/x/auth.json")
      if (Result.isFailure(r)) {
        assert.include(r.failure.userMessage, "/x/auth.json")
      }
    }), { numRuns: 500 })
    const secret = "sk-secret-should-not-appear-in-errors-1234567890"
    const r = AuthDotJson.parse(JSON.stringify({ OPENAI_API_KEY: 42, tokens: { id_token: secret } }), "f")
    assert.isTrue(Result.isFailure(r))
    if (Result.isFailure(r)) assert.notInclude(r.failure.userMessage, secret)
  })

  it("rejects documents that are not Codex credentials with a reason", () => {
    for (const [text, expected] of [
      ["", "empty"],
      ["{", "not valid JSON"],
      ["[]", "expected a JSON object"],
      ["{\"tokens\": 3}", "tokens"],
      ["{\"tokens\": {\"id_token\": \"x\"}}", "tokens"],
      ["{\"OPENAI_API_KEY\": 5}", "OPENAI_API_KEY"]
    ] as const) {
      const r = AuthDotJson.parse(text, "auth.json")
      assert.isTrue(Result.isFailure(r), text)
      if (Result.isFailure(r)) assert.include(r.failure.userMessage, expected)
    }
  })

  it("refuses a stored token or API key with control characters or whitespace: exit 5, a hint, never the value", () => {
    const jwt = makeJwt({ email: "a@example.com" })
    const docs = [
      { tokens: { id_token: jwt, access_token: "at-VALUE\u001b[2J", refresh_token: "rt" } },
      { tokens: { id_token: jwt, access_token: "at", refresh_token: "rt-VALUE\nX" } },
      { tokens: { id_token: `${jwt}\u0007`, access_token: "at", refresh_token: "rt" } },
      { OPENAI_API_KEY: "sk-VALUE\u009b31m" },
      { OPENAI_API_KEY: "sk-VALUE with-space" },
      { OPENAI_API_KEY: "sk-VALUE\u202eab" },
      { auth_mode: "apikey", OPENAI_API_KEY: "sk-VALUE\r" }
    ]
    for (const doc of docs) {
      const r = AuthDotJson.parse(JSON.stringify(doc), "auth.json")
      assert.isTrue(Result.isFailure(r), JSON.stringify(doc))
      if (Result.isFailure(r)) {
        assert.strictEqual(r.failure.exitCode, 5)
        assert.match(r.failure.userMessage, /(access_token|refresh_token|id_token|OPENAI_API_KEY)` .*contains (control characters|whitespace)/)
        assert.notInclude(r.failure.userMessage, "VALUE")
        assert.include(r.failure.hint ?? "", "codex-auth login")
      }
    }
    // Empty values stay what Codex writes for "none".
    assert.isTrue(Result.isSuccess(AuthDotJson.parse(JSON.stringify({ tokens: { id_token: jwt, access_token: "at", refresh_token: "" } }), "auth.json")))
  })

  it("masks API keys like Codex", () => {
    assert.strictEqual(AuthDotJson.maskApiKey("sk-test-abcdef123456"), "sk-test-***23456")
    assert.strictEqual(AuthDotJson.maskApiKey("short"), "***")
  })

  it("resolves the mode as Codex does", () => {
    assert.strictEqual(AuthDotJson.modeOf(ok("{\"OPENAI_API_KEY\":\"sk\"}")), "apikey")
    assert.strictEqual(AuthDotJson.modeOf(ok(JSON.stringify({ tokens: { id_token: "a.b.c", access_token: "a", refresh_token: "r" } }))), "chatgpt")
    assert.strictEqual(AuthDotJson.modeOf(ok("{}")), undefined)
  })
})

describe("Jwt", () => {
  it("reads the OpenAI claims", () => {
    const claims = Result.getOrThrow(Jwt.parseClaims(idTokenFor({ email: "a@b.c", accountId: "ws-1", plan: "pro", userId: "u-1", exp: 1700000000 })))
    assert.strictEqual(claims.email, "a@b.c")
    assert.strictEqual(claims.accountId, "ws-1")
    assert.strictEqual(claims.planType, "pro")
    assert.strictEqual(claims.userId, "u-1")
    assert.strictEqual(claims.exp, 1700000000)
    assert.strictEqual(claims.organizations[0]?.isDefault, true)
  })

  it("falls back to the older user_id claim", () => {
    const claims = Result.getOrThrow(Jwt.parseClaims(makeJwt({ "https://api.openai.com/auth": { user_id: "old" } })))
    assert.strictEqual(claims.userId, "old")
  })

  it("never throws on arbitrary tokens", () => {
    fc.assert(fc.property(fc.string(), fc.json(), (s, j) => {
      Jwt.parseClaims(s)
      Jwt.parseClaims(`e30.${Buffer.from(j).toString("base64url")}.x`)
      Jwt.expiryMillis(s)
    }), { numRuns: 1000 })
  })
})

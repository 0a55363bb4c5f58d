/**
 * Property and fuzz tests for the two parsers of untrusted text in core: auth.json (or the keyring
 * secret) and the claims of ID/access tokens. Whatever the input — random bytes, random JSON,
 * credential-shaped documents with wrong types, valid documents torn at any byte — they never
 * throw, a bad input is a typed error with a message naming the location and a next step, and no
 * secret from the input is echoed in that message.
 */
import { describe, it } from "@effect/vitest"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { expect } from "vitest"
import { AuthDotJson, ExitCode, Jwt } from "../src/index.ts"

const LOCATION = "/home/u/.codex/auth.json"

/** A recognisable secret: a fixed marker and 20 random alphanumerics. */
const secret = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), minLength: 20, maxLength: 20 })
  .map((s) => `SeCrEt${s}`)

/** True when `text` holds any 8-character piece of `s`'s random part. */
const echoes = (text: string, s: string): boolean => {
  const body = s.slice("SeCrEt".length)
  for (let i = 0; i + 8 <= body.length; i++) if (text.includes(body.slice(i, i + 8))) return true
  return false
}

/** Asserts the failure contract: a CorruptCredentials naming the location, with a hint and the storage exit code. */
const assertTypedFailure = (r: Result.Result<AuthDotJson.AuthDocument, unknown>, secrets: ReadonlyArray<string> = []) => {
  if (Result.isSuccess(r)) return
  const e = r.failure as { _tag: string; userMessage: string; hint: string | undefined; exitCode: number }
  expect(e._tag).toBe("CorruptCredentials")
  expect(e.userMessage).toContain(LOCATION)
  expect(e.hint ?? "").not.toBe("")
  expect(e.exitCode).toBe(ExitCode.ExitCode.Storage)
  for (const s of secrets) {
    expect(echoes(e.userMessage, s), `error message echoes a secret: ${e.userMessage}`).toBe(false)
    expect(echoes(e.hint ?? "", s)).toBe(false)
  }
}

/** Any JSON value, or a value of the wrong type where a string is expected. */
const wrongish = (s: fc.Arbitrary<string>) =>
  fc.oneof(s, fc.constant(null), fc.integer(), fc.boolean(), fc.array(s, { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 4 }), s, { maxKeys: 2 }))

/** Credential-shaped objects whose fields are often of the wrong type, with secrets in them. */
const credentialShaped = fc.record({
  secrets: fc.array(secret, { minLength: 4, maxLength: 4 }),
  mode: fc.constantFrom(undefined, "apikey", "chatgpt", 3, null),
  withTokens: fc.constantFrom("object", "absent", "null", "string", "array"),
  shape: fc.array(fc.nat({ max: 5 }), { minLength: 5, maxLength: 5 })
}).chain(({ secrets, mode, withTokens, shape }) => {
  const [a, b, c, d] = secrets as [string, string, string, string]
  const field = (s: string, k: number) => {
    switch (k) {
      case 0: return s
      case 1: return null
      case 2: return [s]
      case 3: return { v: s }
      case 4: return 42
      default: return undefined
    }
  }
  const tokens = withTokens === "object"
    ? { id_token: field(a, shape[0]!), access_token: field(b, shape[1]!), refresh_token: field(c, shape[2]!), account_id: field("acct", shape[3]!) }
    : withTokens === "null" ? null : withTokens === "string" ? c : withTokens === "array" ? [a, b] : undefined
  return fc.constant({
    value: { auth_mode: mode, OPENAI_API_KEY: field(d, shape[4]!), tokens, last_refresh: "2026-01-01T00:00:00Z" },
    secrets
  })
})

/** Valid documents, with unknown fields at both levels. */
const unknownFields = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh", "id_token", "access_token", "refresh_token", "account_id", "__proto__"].includes(k)),
  fc.jsonValue({ maxDepth: 2 }),
  { maxKeys: 3 }
)
/** Token and key text as issuers write it: printable, no whitespace (what the parser accepts). */
const opaque = fc.string().map((s) => s.replace(/\s/g, "_"))

const validDocument = fc.record({
  apiKey: fc.option(opaque, { nil: undefined }),
  tokens: fc.option(fc.record({ id: opaque, access: opaque, refresh: opaque, account: fc.option(fc.string(), { nil: undefined }), extra: unknownFields }), { nil: undefined }),
  mode: fc.option(fc.constantFrom("apikey", "chatgpt", "somethingNewer"), { nil: undefined }),
  lastRefresh: fc.option(fc.string(), { nil: undefined }),
  extra: unknownFields
}).map((r): AuthDotJson.AuthDocument => ({
  authMode: r.mode,
  apiKey: r.apiKey === undefined ? undefined : Redacted.make(r.apiKey),
  tokens: r.tokens === undefined ? undefined : {
    idToken: Redacted.make(r.tokens.id),
    accessToken: Redacted.make(r.tokens.access),
    refreshToken: Redacted.make(r.tokens.refresh),
    accountId: r.tokens.account,
    extra: r.tokens.extra
  },
  lastRefresh: r.lastRefresh,
  extra: r.extra
}))

describe("auth.json parser (property)", () => {
  it("never throws on arbitrary text, binary included; failures are typed CorruptCredentials", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "grapheme", maxLength: 100 }), fc.json()), (text) => {
        assertTypedFailure(AuthDotJson.parse(text, LOCATION))
      }),
      { numRuns: 1000 }
    )
  })

  it("never throws on arbitrary JSON values handed to fromJsonValue", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertTypedFailure(AuthDotJson.fromJsonValue(value, LOCATION))
      }),
      { numRuns: 1000 }
    )
  })

  it("credential-shaped documents with wrong types: a typed error that echoes none of the secrets", () => {
    fc.assert(
      fc.property(credentialShaped, ({ secrets, value }) => {
        assertTypedFailure(AuthDotJson.parse(JSON.stringify(value), LOCATION), secrets)
      }),
      { numRuns: 1000 }
    )
  })

  it("valid documents round-trip byte for byte, unknown fields kept in order (file and keyring forms)", () => {
    fc.assert(
      fc.property(validDocument, (doc) => {
        const text = AuthDotJson.toFileText(doc)
        const back = AuthDotJson.parse(text, LOCATION)
        expect(Result.isSuccess(back)).toBe(true)
        if (Result.isSuccess(back)) {
          expect(AuthDotJson.toFileText(back.success)).toBe(text)
          expect(AuthDotJson.toCompactText(back.success)).toBe(AuthDotJson.toCompactText(doc))
          expect(Object.keys(back.success.extra)).toEqual(Object.keys(doc.extra))
        }
      }),
      { numRuns: 500 }
    )
  })

  it("a valid document with a control character or whitespace in a token or key: a typed error naming the field, never the value", () => {
    const bad = fc.constantFrom("\u001b", "\u0007", "\n", "\r", " ", "\t", "\u007f", "\u009b", "\u202e", "\u2066", "\u00a0")
    fc.assert(
      fc.property(validDocument, secret, bad, fc.constantFrom("OPENAI_API_KEY", "id_token", "access_token", "refresh_token"), (doc, value, c, field) => {
        const json = AuthDotJson.toJsonValue(doc) as Record<string, Record<string, unknown>>
        const poisoned = `${value.slice(0, 10)}${c}${value.slice(10)}`
        if (field === "OPENAI_API_KEY") json[field] = poisoned as never
        else json["tokens"] = { id_token: "a.b.c", access_token: "at", refresh_token: "rt", ...json["tokens"], [field]: poisoned }
        const r = AuthDotJson.parse(JSON.stringify(json), LOCATION)
        assertTypedFailure(r, [value])
        expect(Result.isFailure(r)).toBe(true)
        if (Result.isFailure(r)) expect(r.failure.userMessage).toContain(field)
      }),
      { numRuns: 300 }
    )
  })

  it("a valid document truncated at any byte is either still valid or a typed error", () => {
    fc.assert(
      fc.property(validDocument, fc.double({ min: 0, max: 1, noNaN: true }), (doc, at) => {
        const text = AuthDotJson.toFileText(doc)
        assertTypedFailure(AuthDotJson.parse(text.slice(0, Math.floor(text.length * at)), LOCATION))
      }),
      { numRuns: 500 }
    )
  })

  it("helpers never throw on any parsed document (mode, claims, provenance, masking)", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.string(), (value, key) => {
        const r = AuthDotJson.fromJsonValue(value, LOCATION)
        if (Result.isSuccess(r)) {
          AuthDotJson.modeOf(r.success)
          AuthDotJson.claimsOf(r.success)
          AuthDotJson.provenanceOf(r.success)
        }
        const masked = AuthDotJson.maskApiKey(key)
        expect(masked).toContain("***")
        expect(masked.length).toBeLessThanOrEqual(16)
      }),
      { numRuns: 500 }
    )
  })

  it("a pathologically deep or large auth.json is a typed error or a document, never a crash", () => {
    const deep = `{"tokens":${"[".repeat(200_000)}${"]".repeat(200_000)}}`
    assertTypedFailure(AuthDotJson.parse(deep, LOCATION))
    const huge = JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: "sk-".padEnd(5_000_000, "a") })
    expect(Result.isSuccess(AuthDotJson.parse(huge, LOCATION))).toBe(true)
  })
})

// The JSON syntax-error text from V8 quotes a snippet of the input, which may hold a secret that is
// not inside quotes (a hand-edited file, `"OPENAI_API_KEY": sk-…`): the parser keeps only the position.
describe("auth.json syntax errors", () => {
  it("a corrupt auth.json with an unquoted secret does not echo it in the error", () => {
    fc.assert(
      fc.property(secret, fc.constantFrom("OPENAI_API_KEY", "refresh_token"), (s, key) => {
        // The value as a hand edit might leave it: unquoted (only its random part, as a refresh token would be).
        const r = AuthDotJson.parse(`{"${key}": ${s.slice("SeCrEt".length)}}`, LOCATION)
        assertTypedFailure(r, [s])
      }),
      { numRuns: 50 }
    )
  })
})

describe("ID-token claims (property)", () => {
  const b64 = (v: string) => Buffer.from(v).toString("base64url")
  const segment = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => b64(JSON.stringify(v))),
    fc.string({ unit: "binary", maxLength: 40 }).map(b64)
  )
  const tokenLike = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.tuple(segment, segment, segment).map((parts) => parts.join(".")),
    fc.array(segment, { maxLength: 6 }).map((parts) => parts.join("."))
  )
  /** Payloads with the OpenAI namespace holding values of every type. */
  const claimsLike = fc.record({
    email: wrongish(fc.string()),
    exp: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
    "https://api.openai.com/auth": fc.oneof(
      wrongish(fc.string()),
      fc.record({
        chatgpt_plan_type: wrongish(fc.string()),
        chatgpt_account_id: wrongish(fc.string()),
        chatgpt_user_id: wrongish(fc.string()),
        user_id: wrongish(fc.string()),
        organizations: fc.oneof(wrongish(fc.string()), fc.array(fc.oneof(fc.constant(null), fc.record({ id: wrongish(fc.string()), is_default: fc.jsonValue() }))))
      }, { requiredKeys: [] })
    ),
    "https://api.openai.com/profile": fc.jsonValue({ maxDepth: 2 })
  }, { requiredKeys: [] })

  const assertClaims = (c: Jwt.TokenClaims) => {
    for (const v of [c.email, c.planType, c.accountId, c.userId]) expect(v === undefined || typeof v === "string").toBe(true)
    expect(c.exp === undefined || Number.isFinite(c.exp)).toBe(true)
    for (const o of c.organizations) {
      expect(typeof o.id).toBe("string")
      expect(typeof o.isDefault).toBe("boolean")
    }
  }

  it("never throws on arbitrary token-like strings; failures are JwtDecodeError without the token", () => {
    fc.assert(
      fc.property(tokenLike, (jwt) => {
        const r = Jwt.parseClaims(jwt)
        if (Result.isSuccess(r)) assertClaims(r.success)
        else {
          expect(r.failure._tag).toBe("JwtDecodeError")
          expect(r.failure.detail.length).toBeGreaterThan(0)
          if (jwt.length >= 8) expect(r.failure.detail).not.toContain(jwt)
        }
        const ms = Jwt.expiryMillis(jwt)
        expect(ms === undefined || Number.isFinite(ms)).toBe(true)
      }),
      { numRuns: 1000 }
    )
  })

  it("claims of any type in the payload decode to well-typed claims (unknown shapes ignored)", () => {
    fc.assert(
      fc.property(claimsLike, (payload) => {
        const jwt = `${b64("{\"alg\":\"none\"}")}.${b64(JSON.stringify(payload))}.sig`
        const r = Jwt.parseClaims(jwt)
        expect(Result.isSuccess(r)).toBe(true)
        if (Result.isSuccess(r)) assertClaims(r.success)
      }),
      { numRuns: 1000 }
    )
  })

  it("huge and deeply nested payloads are handled without a crash", () => {
    const deep = `${b64("{}")}.${b64(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`)}.s`
    const r = Jwt.parseClaims(deep)
    if (Result.isSuccess(r)) assertClaims(r.success)
    const big = `${b64("{}")}.${b64(JSON.stringify({ email: "x".repeat(2_000_000) }))}.s`
    expect(Result.isSuccess(Jwt.parseClaims(big))).toBe(true)
  })
})

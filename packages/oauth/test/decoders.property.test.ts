/**
 * Property and fuzz tests for every decoder of untrusted input in the sign-in flows: the loopback
 * callback (request routing and its query), paste-back, the device-code answers, the token
 * endpoint's answers (code exchange, API-key exchange) and the refresh failure classifier. For any
 * input they never throw; only exactly the right input succeeds (the right state, a complete
 * token set); a failure is a typed error whose message has no control characters (nothing an
 * issuer or a forged request sends can drive the terminal) and never repeats a secret that was
 * in the input (codes, verifiers, tokens, device ids).
 */
import { Errors } from "@codex-auth/core"
import { describe, it } from "@effect/vitest"
import { Effect, Redacted, Result } from "effect"
import fc from "fast-check"
import { expect } from "vitest"
import { decodePaste, decodeRedirect } from "../src/Authorize.ts"
import * as Callback from "../src/Callback.ts"
import { decodePollResponse, decodeUserCodeResponse } from "../src/DeviceCode.ts"
import { OAuthConfig } from "../src/OAuthConfig.ts"
import { classifyFailure, extractErrorCode } from "../src/RefreshTransport.ts"
import { decodeApiKeyResponse, decodeTokenResponse } from "../src/TokenEndpoint.ts"

const STATE = "st4te-Abc_123-xyz"
const state = Redacted.make(STATE)
const config = Effect.runSync(Effect.service(OAuthConfig).pipe(Effect.provide(OAuthConfig.layerWith({ issuer: "https://issuer.example" }))))

/** Control characters (C0, DEL, C1) and bidi overrides: nothing a message may carry to a terminal. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

const secret = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"), minLength: 16, maxLength: 16 }).map((s) => `SECRET${s}`)

/** Strings an attacker or a broken issuer might send: control characters, escapes, bidi, long text. */
const nasty = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("\u001b[31mred\u001b[0m", "\u001b]0;title\u0007", "a\r\nSet-Cookie: x", "\u202egnp.exe", "\u0000", "x".repeat(5000), "%0d%0a", "<script>alert(1)</script>")
)

const assertUserFacing = (e: unknown, secrets: ReadonlyArray<string> = []) => {
  expect(Errors.isUserFacing(e), String(e)).toBe(true)
  const u = e as Errors.UserFacing
  const text = `${u.userMessage} ${u.hint ?? ""}`
  expect(CONTROL.test(text), JSON.stringify(text)).toBe(false)
  expect(u.userMessage.length).toBeLessThan(1000)
  for (const s of secrets) expect(text, "a secret from the input is in the message").not.toContain(s)
}

/** A query string with random parameters, sometimes the right state, sometimes a code or an error. */
const queryArb = fc.record({
  code: fc.option(fc.oneof(secret, nasty), { nil: undefined }),
  state: fc.option(fc.oneof(fc.constant(STATE), fc.constant(`${STATE}x`), fc.constant(STATE.slice(1)), nasty), { nil: undefined }),
  error: fc.option(fc.oneof(fc.constantFrom("access_denied", "missing_codex_entitlement", "workspace_not_allowed", "server_error"), nasty), { nil: undefined }),
  description: fc.option(nasty, { nil: undefined }),
  extra: fc.array(fc.tuple(nasty, nasty), { maxLength: 3 })
}).map((q) => {
  const p = new URLSearchParams()
  if (q.code !== undefined) p.append("code", q.code)
  if (q.state !== undefined) p.append("state", q.state)
  if (q.error !== undefined) p.append("error", q.error)
  if (q.description !== undefined) p.append("error_description", q.description)
  for (const [k, v] of q.extra) p.append(k, v)
  return { q, params: p }
})

describe("callback query and routing (property)", () => {
  it("decodeRedirect: only the exact state gets through; a code only with it; errors are clean", () => {
    fc.assert(
      fc.property(queryArb, ({ q, params }) => {
        const r = decodeRedirect(params, state)
        const stateOk = params.get("state") === STATE
        if (!stateOk) expect(r._tag).toBe("StateMismatch")
        if (r._tag === "Code") {
          expect(stateOk).toBe(true)
          expect(Redacted.value(r.code)).toBe(params.get("code"))
        }
        if (r._tag === "Denied") assertUserFacing(r.failure, q.code?.startsWith("SECRET") ? [q.code] : [])
      }),
      { numRuns: 2000 }
    )
  })

  it("Callback.route: any method, target and Host; the flow only moves for GET /auth/callback on a loopback Host with the state", () => {
    const target = fc.oneof(
      queryArb.map(({ params }) => `/auth/callback?${params.toString()}`),
      fc.tuple(fc.constantFrom("/", "/auth", "/auth/callback/", "/AUTH/CALLBACK", "/auth/callback#", "/auth/callback%3F", "*"), queryArb).map(([p, { params }]) => `${p}?${params.toString()}`),
      nasty
    )
    const host = fc.option(fc.oneof(fc.constantFrom("localhost:1455", "127.0.0.1:1455", "[::1]:1455", "localhost:1457", "evil.example:1455", "localhost", "LOCALHOST:1455"), nasty), { nil: undefined })
    const method = fc.oneof(fc.constantFrom("GET", "POST", "HEAD", "PUT", "OPTIONS", "get"), nasty)
    fc.assert(
      fc.property(method, target, host, (m, url, h) => {
        const r = Callback.route({ method: m, url, host: h }, { port: 1455, state })
        if (r._tag === "Ignore") {
          expect(r.page.status).toBeGreaterThanOrEqual(400)
          expect(CONTROL.test(r.page.html.replace(/\n/g, ""))).toBe(false)
        } else {
          expect(m).toBe("GET")
          expect(["localhost:1455", "127.0.0.1:1455", "[::1]:1455"]).toContain(h?.toLowerCase())
          expect(new URL(url, "http://localhost:1455").searchParams.get("state")).toBe(STATE)
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("decodePaste: anything pasted is a code (right state only), the issuer's error, or a described problem", () => {
    const pasted = fc.oneof(
      queryArb.map(({ params }) => `http://localhost:1455/auth/callback?${params.toString()}`),
      queryArb.map(({ params }) => params.toString()),
      queryArb.map(({ params }) => ` "<?${params.toString()}>" `),
      nasty,
      fc.string({ unit: "binary", maxLength: 200 })
    )
    fc.assert(
      fc.property(pasted, (text) => {
        const r = decodePaste(text, state)
        if (r._tag === "Code") expect(text).toContain(STATE)
        if (r._tag === "Denied") assertUserFacing(r.failure)
      }),
      { numRuns: 2000 }
    )
  })
})

/** JSON bodies with the fields a decoder reads, of any type, with secrets where secrets go. */
const bodyArb = (fields: ReadonlyArray<string>) =>
  fc.record({
    secrets: fc.array(secret, { minLength: fields.length, maxLength: fields.length }),
    shapes: fc.array(fc.nat({ max: 6 }), { minLength: fields.length, maxLength: fields.length }),
    error: fc.option(fc.oneof(fc.constantFrom("invalid_grant", "authorization_pending", "slow_down", "expired_token", "access_denied", "refresh_token_reused"), nasty), { nil: undefined }),
    errorShape: fc.constantFrom("string", "object", "code"),
    description: fc.option(nasty, { nil: undefined }),
    raw: fc.oneof(fc.constant(undefined), nasty)
  }).map(({ secrets, shapes, error, errorShape, description, raw }) => {
    if (raw !== undefined) return { body: raw, secrets: [] as Array<string> }
    const map: Record<string, unknown> = {}
    fields.forEach((f, i) => {
      const s = secrets[i]!
      switch (shapes[i]) {
        case 0: map[f] = s; break
        case 1: map[f] = ""; break
        case 2: map[f] = 42; break
        case 3: map[f] = null; break
        case 4: map[f] = [s]; break
        case 5: map[f] = `${s}.${s}.${s}`; break
        default: break
      }
    })
    if (error !== undefined) {
      if (errorShape === "string") map["error"] = error
      else if (errorShape === "object") map["error"] = { code: error, message: description ?? "" }
      else map["code"] = error
    }
    if (description !== undefined) map["error_description"] = description
    return { body: JSON.stringify(map), secrets }
  })

const statusArb = fc.oneof(fc.constantFrom(200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503), fc.integer({ min: 100, max: 599 }))

describe("device code answers (property)", () => {
  it("decodeUserCodeResponse: a usable code or a typed error without the device id", () => {
    fc.assert(
      fc.property(statusArb, bodyArb(["device_auth_id", "user_code", "interval", "expires_at"]), fc.integer({ min: 0, max: 4_102_444_800_000 }), (status, { body, secrets }, now) => {
        const r = decodeUserCodeResponse(config, status, body, now)
        if (Result.isSuccess(r)) {
          expect(status).toBeGreaterThanOrEqual(200)
          expect(status).toBeLessThan(300)
          expect(r.success.intervalMs).toBeGreaterThanOrEqual(0)
          expect(r.success.expiresAt.getTime()).toBeGreaterThan(now)
          expect(r.success.expiresAt.getTime()).toBeLessThanOrEqual(now + 15 * 60 * 1000)
          expect(r.success.userCode).toMatch(/^[A-Za-z0-9-]{4,32}$/)
        } else assertUserFacing(r.failure, secrets.slice(0, 1))
      }),
      { numRuns: 2000 }
    )
  })

  it("decodePollResponse: approved only with both values on 2xx; failures clean and without them", () => {
    fc.assert(
      fc.property(statusArb, bodyArb(["authorization_code", "code_verifier", "code_challenge"]), (status, { body, secrets }) => {
        const r = decodePollResponse(status, body)
        if (r._tag === "Approved") {
          expect(status >= 200 && status < 300).toBe(true)
          expect(Redacted.value(r.authorizationCode).length).toBeGreaterThan(0)
        }
        if (r._tag === "Failed") assertUserFacing(r.failure, secrets)
        if (r._tag === "Transient") {
          expect(CONTROL.test(r.detail)).toBe(false)
          for (const s of secrets) expect(r.detail).not.toContain(s)
        }
      }),
      { numRuns: 2000 }
    )
  })
})

describe("token endpoint answers (property)", () => {
  it("decodeTokenResponse: a complete token set on 2xx, else a typed error that names no token", () => {
    fc.assert(
      fc.property(statusArb, bodyArb(["id_token", "access_token", "refresh_token"]), (status, { body, secrets }) => {
        const r = decodeTokenResponse(config, status, body)
        if (Result.isSuccess(r)) {
          expect(status >= 200 && status < 300).toBe(true)
          expect(Redacted.value(r.success.idToken).split(".")).toHaveLength(3)
          expect(Redacted.value(r.success.refreshToken).length).toBeGreaterThan(0)
        } else assertUserFacing(r.failure, secrets)
      }),
      { numRuns: 2000 }
    )
  })

  it("decodeApiKeyResponse: the key on 2xx, else a short reason without it", () => {
    fc.assert(
      fc.property(statusArb, bodyArb(["access_token"]), (status, { body, secrets }) => {
        const r = decodeApiKeyResponse(status, body)
        if (Result.isFailure(r)) {
          expect(CONTROL.test(r.failure)).toBe(false)
          for (const s of secrets) expect(r.failure).not.toContain(s)
        }
      }),
      { numRuns: 1000 }
    )
  })
})

describe("refresh failures (property)", () => {
  it("classifyFailure: ReauthRequired or NetworkError for any answer, never a throw", () => {
    fc.assert(
      fc.property(statusArb, bodyArb(["refresh_token", "access_token"]), (status, { body, secrets }) => {
        extractErrorCode(body)
        const e = classifyFailure(status, body, "POST https://issuer.example/oauth/token")
        expect(e).toSatisfy((x: unknown) => x instanceof Errors.ReauthRequired || x instanceof Errors.NetworkError)
        const text = `${e.userMessage} ${e.hint ?? ""}`
        for (const s of secrets) expect(text).not.toContain(s)
      }),
      { numRuns: 2000 }
    )
  })

  // The issuer's error code goes into the NetworkError detail only through `LoginError.sanitize`,
  // so an answer such as `{"error":"\u001b]0;…\u0007"}` never reaches the terminal as an escape sequence.
  it("classifyFailure's message carries no control characters from the issuer's answer", () => {
    fc.assert(
      fc.property(statusArb.filter((s) => s !== 401), nasty, (status, code) => {
        const e = classifyFailure(status, JSON.stringify({ error: code }), "POST https://issuer.example/oauth/token")
        assertUserFacing(e)
      }),
      { numRuns: 500 }
    )
  })
})


describe("tokens with control characters or whitespace", () => {
  const bad = fc.constantFrom("\n", "\r", " ", "\t", "\u001b[2J", "\u001b]0;t\u0007", "\u007f", "\u009b", "\u202e", "\u00a0")

  it("a code-exchange answer holding one is a malformed answer (NetworkError, exit 6) naming the field, never the value", () => {
    fc.assert(
      fc.property(secret, bad, fc.constantFrom("id_token", "access_token", "refresh_token"), (value, c, field) => {
        const tokens: Record<string, string> = { id_token: "h.p.s", access_token: "at", refresh_token: "rt", [field]: `${value}${c}x` }
        const r = decodeTokenResponse(config, 200, JSON.stringify(tokens))
        expect(Result.isFailure(r)).toBe(true)
        if (Result.isFailure(r)) {
          expect(r.failure._tag).toBe("NetworkError")
          expect(r.failure.exitCode).toBe(6)
          expect(r.failure.userMessage).toContain(`${field} contains`)
          assertUserFacing(r.failure, [value])
        }
      }),
      { numRuns: 200 }
    )
  })

  it("an API key holding one is no key (the sign-in goes on without it), never shown", () => {
    const r = decodeApiKeyResponse(200, JSON.stringify({ access_token: "sk-SECRETKEY\u001b[2J" }))
    expect(Result.isFailure(r)).toBe(true)
    if (Result.isFailure(r)) {
      expect(r.failure).toContain("malformed")
      expect(r.failure).not.toContain("SECRETKEY")
    }
  })
})

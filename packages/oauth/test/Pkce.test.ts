/**
 * PKCE and state: the RFC 7636 appendix B vector, the sizes Codex uses (64-byte verifier →
 * 86 characters, 32-byte state → 43), freshness, and the constant-time state comparison.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Pkce from "../src/Pkce.ts"

describe("Pkce", () => {
  it("S256 matches RFC 7636 appendix B", () => {
    assert.strictEqual(
      Pkce.challengeS256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
  })

  it("a verifier is 86 unreserved characters, its challenge 43, and each call is fresh", () => {
    const a = Pkce.generatePkce()
    const b = Pkce.generatePkce()
    const va = Redacted.value(a.verifier)
    assert.strictEqual(va.length, 86)
    assert.match(va, /^[A-Za-z0-9_-]{86}$/)
    assert.match(a.challenge, /^[A-Za-z0-9_-]{43}$/)
    assert.strictEqual(a.challenge, Pkce.challengeS256(va))
    assert.notStrictEqual(va, Redacted.value(b.verifier))
    assert.notInclude(String(a.verifier), va)
  })

  it("state is 32 random bytes (43 base64url characters), fresh each time", () => {
    const s = Redacted.value(Pkce.generateState())
    assert.match(s, /^[A-Za-z0-9_-]{43}$/)
    assert.notStrictEqual(s, Redacted.value(Pkce.generateState()))
  })

  it("stateMatches accepts only the exact value", () => {
    const state = Redacted.make("abcDEF123_-xyz")
    assert.isTrue(Pkce.stateMatches(state, "abcDEF123_-xyz"))
    assert.isFalse(Pkce.stateMatches(state, "abcDEF123_-xyZ"))
    assert.isFalse(Pkce.stateMatches(state, "abcDEF123_-xyz "))
    assert.isFalse(Pkce.stateMatches(state, "abc"))
    assert.isFalse(Pkce.stateMatches(state, ""))
    assert.isFalse(Pkce.stateMatches(state, null))
    assert.isFalse(Pkce.stateMatches(state, undefined))
  })
})

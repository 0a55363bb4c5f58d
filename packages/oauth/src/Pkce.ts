/**
 * PKCE (RFC 7636) and the `state` value of the browser sign-in, generated exactly as the Codex
 * CLI does: a 64-byte verifier (86 base64url characters), its S256 challenge, and a 32-byte
 * state. `state` is compared in constant time.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.1
 * @since 0.1.0
 */
import { Redacted } from "effect"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

export interface PkceCodes {
  /** `code_verifier`: sent only to the token endpoint, never in a URL. */
  readonly verifier: Redacted.Redacted<string>
  /** `code_challenge` = BASE64URL(SHA256(verifier)), sent on the authorize URL. */
  readonly challenge: string
}

/** Number of random bytes in a verifier (Codex: 64 → 86 characters). */
export const VERIFIER_BYTES = 64
/** Number of random bytes in `state` (Codex: 32 → 43 characters). */
export const STATE_BYTES = 32

/** `BASE64URL(SHA256(ASCII(verifier)))` without padding (RFC 7636 §4.2, method `S256`). */
export const challengeS256 = (verifier: string): string => createHash("sha256").update(verifier, "ascii").digest("base64url")

/** A fresh verifier and its S256 challenge. */
export const generatePkce = (): PkceCodes => {
  const verifier = randomBytes(VERIFIER_BYTES).toString("base64url")
  return { verifier: Redacted.make(verifier), challenge: challengeS256(verifier) }
}

/** A fresh `state`. */
export const generateState = (): Redacted.Redacted<string> => Redacted.make(randomBytes(STATE_BYTES).toString("base64url"))

/**
 * Compares a received `state` with the expected one in constant time (with respect to the
 * content; lengths are compared by hashing both sides first, so no early exit leaks a prefix).
 */
export const stateMatches = (expected: Redacted.Redacted<string>, received: string | null | undefined): boolean => {
  if (typeof received !== "string" || received.length === 0) return false
  const a = createHash("sha256").update(Redacted.value(expected), "utf8").digest()
  const b = createHash("sha256").update(received, "utf8").digest()
  return timingSafeEqual(a, b)
}

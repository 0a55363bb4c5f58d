/**
 * Redaction of secrets in recorded requests: token values, codes, verifiers, passwords and
 * one-time codes become `redacted:<4 hex chars of SHA-256>`, so a test can tell which token was
 * sent (compare with {@link fingerprint}) without the recorder ever holding the secret.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/** Keys whose values are secrets, compared case-insensitively. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "token",
  "refresh_token",
  "access_token",
  "id_token",
  "subject_token",
  "code",
  "authorization_code",
  "code_verifier",
  "code_challenge",
  "state",
  "password",
  "otp",
  "one_time_code",
  "client_secret",
  "user_code",
  "device_auth_id",
  "authorization",
  "cookie",
  "api_key"
])

/** The short, stable fingerprint of a secret as it appears in recorded requests. */
export const fingerprint = (secret: string): string => `redacted:${createHash("sha256").update(secret).digest("hex").slice(0, 4)}`

const isSecretKey = (key: string): boolean => SECRET_KEYS.has(key.toLowerCase())

/** Redacts secret values in a JSON-like value, recursively. */
export const redactValue = (value: unknown, key?: string): unknown => {
  if (key !== undefined && isSecretKey(key)) {
    return typeof value === "string" ? fingerprint(value) : value === null || value === undefined ? value : "redacted"
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v))
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]))
  }
  return value
}

/** Redacts a header map; `authorization: Bearer x` keeps its scheme. */
export const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).map(([k, v]) => {
      if (!isSecretKey(k)) return [k, v]
      const m = /^(\w+)\s+(.+)$/.exec(v)
      return [k, m ? `${m[1]} ${fingerprint(m[2]!)}` : fingerprint(v)]
    })
  )

/**
 * The known credential documents the reliability harnesses write, and how to recognise them.
 *
 * Document `k` is a full ChatGPT `auth.json` whose refresh token is `rt-k-…` (so a chain of
 * refreshes is k → k+1 → …) and whose size varies with `k` (1–48 KiB of padding in an unknown
 * field, which codex-auth must keep): a torn, truncated or interleaved write of one document over
 * another can never be mistaken for a known document, because the checker re-renders document `k`
 * and compares bytes.
 *
 * Every secret here is recognisable (`CANARY`), so the secret-hygiene scans can look for it.
 */
import { AuthDotJson } from "@codex-auth/core"
import { Redacted, Result } from "effect"

/** Appears in every secret these documents hold. */
export const CANARY = "c4n4ry"

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")

/** An unsigned JWT with the OpenAI claims (codex-auth does not verify signatures, as Codex). */
export const fakeJwt = (claims: Record<string, unknown>): string => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.c2ln`

const paddingFor = (k: number): string => {
  const size = 1024 + ((k * 7919) % 48) * 1024
  return `pad${k}-`.repeat(Math.ceil(size / (4 + String(k).length))).slice(0, size)
}

/** Document number `k` (k ≥ 0). */
export const knownDocument = (k: number): AuthDotJson.AuthDocument => ({
  authMode: "chatgpt",
  apiKey: undefined,
  tokens: {
    idToken: Redacted.make(fakeJwt({
      email: `doc${k}@example.com`,
      exp: 4_102_444_800,
      "https://api.openai.com/auth": { chatgpt_plan_type: "plus", chatgpt_account_id: `acct-${k}`, chatgpt_user_id: `user-${k}` }
    })),
    accessToken: Redacted.make(`at-${k}-${CANARY}-access`),
    refreshToken: Redacted.make(`rt-${k}-${CANARY}-refresh`),
    accountId: `acct-${k}`,
    extra: {}
  },
  lastRefresh: new Date(Date.UTC(2026, 0, 1) + k * 1000).toISOString(),
  extra: { reliability_padding: paddingFor(k) }
})

/** The exact auth.json bytes of document `k`. */
export const knownText = (k: number): string => AuthDotJson.toFileText(knownDocument(k))

/** The number of a known document, from its refresh token; `undefined` when it is not one. */
export const documentNumber = (doc: AuthDotJson.AuthDocument): number | undefined => {
  const rt = doc.tokens === undefined ? undefined : Redacted.value(doc.tokens.refreshToken)
  const m = rt === undefined ? null : /^rt-(\d+)-/.exec(rt)
  return m?.[1] === undefined ? undefined : Number(m[1])
}

/** An API-key document as `codex-auth login --with-api-key` writes it. */
export const apiKeyText = (key: string): string => AuthDotJson.toFileText(AuthDotJson.fromApiKey(Redacted.make(key)))

export type Recognised =
  | { readonly kind: "known"; readonly k: number }
  | { readonly kind: "apikey"; readonly key: string }
  | { readonly kind: "foreign"; readonly why: string }

/**
 * Recognises auth.json text: a known document byte for byte, an API-key document for one of
 * `apiKeys`, or `foreign` (torn, truncated, empty, interleaved, or simply unknown) with a reason
 * that never quotes the content.
 */
export const recognise = (text: string, apiKeys: ReadonlyArray<string> = []): Recognised => {
  if (text.length === 0) return { kind: "foreign", why: "empty file" }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return { kind: "foreign", why: `not JSON (${text.length} bytes)` }
  }
  for (const key of apiKeys) if (text === apiKeyText(key)) return { kind: "apikey", key }
  const parsed = AuthDotJson.fromJsonValue(value, "auth.json")
  if (Result.isFailure(parsed)) return { kind: "foreign", why: "JSON but not an auth document" }
  const k = documentNumber(parsed.success)
  if (k === undefined) return { kind: "foreign", why: "an auth document that is not a known one" }
  return text === knownText(k) ? { kind: "known", k } : { kind: "foreign", why: `document ${k} with different bytes (${text.length} bytes)` }
}

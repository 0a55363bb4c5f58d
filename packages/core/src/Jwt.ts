/**
 * Unverified JWT payload decoding and the OpenAI claims Codex reads from ID and access tokens.
 * Codex does not verify signatures client-side; neither do we (the issuer is trusted over TLS).
 *
 * @since 0.1.0
 */
import { Data, Option, Result } from "effect"

export const OPENAI_AUTH_CLAIM = "https://api.openai.com/auth"
export const OPENAI_PROFILE_CLAIM = "https://api.openai.com/profile"

export interface Organization {
  readonly id: string
  readonly title: string | undefined
  readonly role: string | undefined
  readonly isDefault: boolean
}

/** The claims of an ID (or access) token that codex-auth uses. */
export interface TokenClaims {
  readonly email: string | undefined
  /** Seconds since the epoch. */
  readonly exp: number | undefined
  readonly planType: string | undefined
  readonly accountId: string | undefined
  readonly userId: string | undefined
  readonly organizations: ReadonlyArray<Organization>
}

/** Why a JWT could not be decoded; never includes the token itself. */
export class JwtDecodeError extends Data.TaggedError("JwtDecodeError")<{ readonly detail: string }> {}

const base64UrlDecode = (segment: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(segment)) return undefined
  return Buffer.from(segment, "base64url").toString("utf8")
}

/** Decodes the payload of a compact JWS without verifying it. */
export const decodePayload = (jwt: string): Option.Option<Record<string, unknown>> => {
  const parts = jwt.split(".")
  if (parts.length !== 3 || parts[1] === undefined || parts[1].length === 0) return Option.none()
  const text = base64UrlDecode(parts[1])
  if (text === undefined) return Option.none()
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? Option.some(value as Record<string, unknown>)
      : Option.none()
  } catch {
    return Option.none()
  }
}

const str = (u: unknown): string | undefined => (typeof u === "string" ? u : undefined)
const asObject = (u: unknown): Record<string, unknown> | undefined =>
  typeof u === "object" && u !== null && !Array.isArray(u) ? (u as Record<string, unknown>) : undefined

const organizationsOf = (u: unknown): ReadonlyArray<Organization> =>
  Array.isArray(u)
    ? u.flatMap((o): Array<Organization> => {
      const org = asObject(o)
      const id = str(org?.["id"])
      return org === undefined || id === undefined
        ? []
        : [{ id, title: str(org["title"]), role: str(org["role"]), isDefault: org["is_default"] === true }]
    })
    : []

/**
 * Parses the claims Codex reads. Unknown shapes inside the OpenAI namespace are ignored
 * rather than fatal, as Codex does; a token that is not a JWT at all is an error.
 */
export const parseClaims = (jwt: string): Result.Result<TokenClaims, JwtDecodeError> => {
  const payload = decodePayload(jwt)
  if (Option.isNone(payload)) {
    return Result.fail(new JwtDecodeError({ detail: "not a JSON Web Token (expected three base64url segments with a JSON payload)" }))
  }
  const p = payload.value
  const ns = asObject(p[OPENAI_AUTH_CLAIM]) ?? {}
  const profile = p[OPENAI_PROFILE_CLAIM]
  const email = str(p["email"]) ?? (typeof profile === "object" && profile !== null ? str((profile as Record<string, unknown>)["email"]) : undefined)
  const exp = typeof p["exp"] === "number" && Number.isFinite(p["exp"]) ? p["exp"] : undefined
  return Result.succeed({
    email,
    exp,
    planType: str(ns["chatgpt_plan_type"]),
    accountId: str(ns["chatgpt_account_id"]),
    userId: str(ns["chatgpt_user_id"]) ?? str(ns["user_id"]),
    organizations: organizationsOf(ns["organizations"])
  })
}

/** `exp` of a JWT in milliseconds, if it has one. */
export const expiryMillis = (jwt: string): number | undefined => {
  const payload = decodePayload(jwt)
  if (Option.isNone(payload)) return undefined
  const exp = payload.value["exp"]
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined
}

/**
 * The Codex credential document (`$CODEX_HOME/auth.json`, or the keyring secret), byte-compatible
 * with the Codex CLI: same keys, same key order, same pretty-printing (2 spaces, no trailing
 * newline) for the file and compact JSON for the keyring. Fields this version does not know are
 * kept, in order, when a document is rewritten.
 *
 * @since 0.1.0
 */
import { Redacted, Result } from "effect"
import { CorruptCredentials } from "./Errors.ts"
import { expiryMillis, parseClaims, type TokenClaims } from "./Jwt.ts"
import { secretProblem } from "./SafeText.ts"

/** Where ChatGPT tokens came from, so refresh and revoke go back to the same issuer (Codex ≥ 0.169). */
export interface OAuthProvenance {
  readonly issuer: string
  readonly clientId: string
}

export interface TokenData {
  /** Raw ID token (JWT). */
  readonly idToken: Redacted.Redacted<string>
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
  /** `undefined`: key absent; `null`: key present with null. */
  readonly accountId: string | null | undefined
  /** Keys of `tokens` other than the four above (e.g. `oauth_provenance`, `login_owner_id`), in order. */
  readonly extra: Readonly<Record<string, unknown>>
}

export interface AuthDocument {
  /** `apikey`, `chatgpt`, or whatever a newer Codex wrote; `undefined` when absent. */
  readonly authMode: string | undefined
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly tokens: TokenData | undefined
  /** RFC 3339 text as stored. */
  readonly lastRefresh: string | undefined
  /** Top-level keys other than the four above, in order (e.g. `agent_identity`). */
  readonly extra: Readonly<Record<string, unknown>>
}

export type AuthMode = "apikey" | "chatgpt"

const TOP_KEYS = new Set(["auth_mode", "OPENAI_API_KEY", "tokens", "last_refresh"])
const TOKEN_KEYS = new Set(["id_token", "access_token", "refresh_token", "account_id"])

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Sets an own property, whatever its name: `out[k] = v` with `k` = `"__proto__"` (a key JSON.parse
 * keeps as an ordinary one) would replace the prototype instead, and the key would be lost.
 */
const setOwn = (out: Record<string, unknown>, k: string, v: unknown): void => {
  Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
}

const extraOf = (obj: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(obj)) if (!known.has(k)) setOwn(out, k, v)
  return out
}

const typeName = (u: unknown): string => (u === null ? "null" : Array.isArray(u) ? "an array" : `a ${typeof u}`)

/** Checks `obj[key]` is a string (or null/absent where allowed); returns a problem text or undefined. Never echoes values. */
const checkString = (obj: Record<string, unknown>, key: string, required: boolean): string | undefined => {
  const v = obj[key]
  if (v === undefined) return required ? `\`${key}\` is missing` : undefined
  if (v === null) return required ? `\`${key}\` is null` : undefined
  return typeof v === "string" ? undefined : `\`${key}\` must be a string, found ${typeName(v)}`
}

/** What a stored token or key was refused for: codex-auth never uses, stores or prints such a value. */
const MALFORMED_SECRET_HINT =
  "A token or key with control characters or whitespace is never used or printed. Sign in again with `codex-auth login` (or `printenv OPENAI_API_KEY | codex-auth login --with-api-key`), which replaces it; `codex-auth logout --local-only` removes it."

/** A stored token or key that is not opaque printable text (see `SafeText.isWellFormedSecret`); empty values are kept as Codex keeps them. */
const malformedSecret = (location: string, obj: Record<string, unknown>, key: string, where: string): CorruptCredentials | undefined => {
  const v = obj[key]
  if (typeof v !== "string" || v.length === 0) return undefined
  const problem = secretProblem(v)
  return problem === undefined ? undefined : new CorruptCredentials({ location, detail: `\`${key}\`${where} ${problem}`, suggestion: MALFORMED_SECRET_HINT })
}

/**
 * Parses a document from its JSON value. `location` names the file or keyring entry for messages.
 * A token or API key holding control characters or whitespace makes the document malformed.
 */
export const fromJsonValue = (value: unknown, location: string): Result.Result<AuthDocument, CorruptCredentials> => {
  if (!isPlainObject(value)) {
    return Result.fail(new CorruptCredentials({ location, detail: "expected a JSON object" }))
  }
  for (const key of ["auth_mode", "OPENAI_API_KEY", "last_refresh"]) {
    const problem = checkString(value, key, false)
    if (problem !== undefined) return Result.fail(new CorruptCredentials({ location, detail: problem }))
  }
  let tokens: TokenData | undefined
  const rawTokens = value["tokens"]
  if (rawTokens !== undefined && rawTokens !== null) {
    if (!isPlainObject(rawTokens)) {
      return Result.fail(new CorruptCredentials({ location, detail: "`tokens` must be an object" }))
    }
    for (const [key, required] of [["id_token", true], ["access_token", true], ["refresh_token", true], ["account_id", false]] as const) {
      const problem = checkString(rawTokens, key, required)
      if (problem !== undefined) return Result.fail(new CorruptCredentials({ location, detail: `in \`tokens\`: ${problem}` }))
    }
    for (const key of ["id_token", "access_token", "refresh_token"]) {
      const malformed = malformedSecret(location, rawTokens, key, " in `tokens`")
      if (malformed !== undefined) return Result.fail(malformed)
    }
    const accountId = rawTokens["account_id"]
    tokens = {
      idToken: Redacted.make(rawTokens["id_token"] as string),
      accessToken: Redacted.make(rawTokens["access_token"] as string),
      refreshToken: Redacted.make(rawTokens["refresh_token"] as string),
      accountId: "account_id" in rawTokens ? (typeof accountId === "string" ? accountId : null) : undefined,
      extra: extraOf(rawTokens, TOKEN_KEYS)
    }
  }
  const malformedKey = malformedSecret(location, value, "OPENAI_API_KEY", "")
  if (malformedKey !== undefined) return Result.fail(malformedKey)
  const str = (k: string) => (typeof value[k] === "string" ? (value[k] as string) : undefined)
  const apiKey = str("OPENAI_API_KEY")
  return Result.succeed({
    authMode: str("auth_mode"),
    apiKey: apiKey !== undefined ? Redacted.make(apiKey) : undefined,
    tokens,
    lastRefresh: str("last_refresh"),
    extra: extraOf(value, TOP_KEYS)
  })
}

/** Parses JSON text (auth.json contents or the keyring secret). */
export const parse = (text: string, location: string): Result.Result<AuthDocument, CorruptCredentials> => {
  if (text.trim().length === 0) {
    return Result.fail(new CorruptCredentials({ location, detail: "the file is empty" }))
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    // V8's message quotes a snippet of the input, which may hold a secret: keep only the position.
    const position = e instanceof SyntaxError ? /position (\d+)/.exec(e.message)?.[1] : undefined
    if (position === undefined) return Result.fail(new CorruptCredentials({ location, detail: "not valid JSON" }))
    const before = text.slice(0, Number(position))
    const line = before.split("\n").length
    const column = Number(position) - before.lastIndexOf("\n")
    return Result.fail(new CorruptCredentials({ location, detail: `not valid JSON (line ${line}, column ${column})` }))
  }
  return fromJsonValue(value, location)
}

/** The JSON value Codex writes, with keys in Codex's order followed by preserved unknown keys. */
export const toJsonValue = (doc: AuthDocument): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  if (doc.authMode !== undefined) out["auth_mode"] = doc.authMode
  out["OPENAI_API_KEY"] = doc.apiKey === undefined ? null : Redacted.value(doc.apiKey)
  if (doc.tokens !== undefined) {
    const t: Record<string, unknown> = {
      id_token: Redacted.value(doc.tokens.idToken),
      access_token: Redacted.value(doc.tokens.accessToken),
      refresh_token: Redacted.value(doc.tokens.refreshToken)
    }
    if (doc.tokens.accountId !== undefined) t["account_id"] = doc.tokens.accountId
    for (const [k, v] of Object.entries(doc.tokens.extra)) if (!TOKEN_KEYS.has(k)) setOwn(t, k, v)
    out["tokens"] = t
  }
  if (doc.lastRefresh !== undefined) out["last_refresh"] = doc.lastRefresh
  for (const [k, v] of Object.entries(doc.extra)) if (!TOP_KEYS.has(k)) setOwn(out, k, v)
  return out
}

/** auth.json text: pretty-printed with two spaces and no trailing newline, as Codex writes it. */
export const toFileText = (doc: AuthDocument): string => JSON.stringify(toJsonValue(doc), null, 2)

/** The keyring secret: compact JSON, as Codex stores it. */
export const toCompactText = (doc: AuthDocument): string => JSON.stringify(toJsonValue(doc))

/** Builds an API-key document exactly as `codex login --with-api-key` does. */
export const fromApiKey = (apiKey: Redacted.Redacted<string>): AuthDocument => ({
  authMode: "apikey",
  apiKey,
  tokens: undefined,
  lastRefresh: undefined,
  extra: {}
})

/** Builds a ChatGPT document as Codex does after a login. */
export const fromChatGptTokens = (options: {
  readonly idToken: Redacted.Redacted<string>
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Redacted.Redacted<string>
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly provenance?: OAuthProvenance | undefined
  readonly now: Date
}): AuthDocument => {
  const claims = Result.getOrUndefined(parseClaims(Redacted.value(options.idToken)))
  const extra: Record<string, unknown> = {}
  if (options.provenance !== undefined) {
    extra["oauth_provenance"] = { issuer: options.provenance.issuer, client_id: options.provenance.clientId }
  }
  return {
    authMode: "chatgpt",
    apiKey: options.apiKey,
    tokens: {
      idToken: options.idToken,
      accessToken: options.accessToken,
      refreshToken: options.refreshToken,
      accountId: claims?.accountId ?? null,
      extra
    },
    lastRefresh: options.now.toISOString(),
    extra: {}
  }
}

/**
 * The effective mode, as Codex resolves it: an explicit `auth_mode` wins; otherwise tokens mean
 * ChatGPT and a bare key means API key.
 */
export const modeOf = (doc: AuthDocument): AuthMode | undefined => {
  if (doc.authMode === "apikey") return "apikey"
  if (doc.authMode === "chatgpt" || doc.authMode === "chatgptAuthTokens") return "chatgpt"
  if (doc.tokens !== undefined) return "chatgpt"
  if (doc.apiKey !== undefined) return "apikey"
  return undefined
}

/**
 * The one answer to "is this a login?", shared by `login status`, `token` and the AuthManager:
 * the document's mode (`modeOf`) when it also holds that mode's credential (an API key; ChatGPT
 * tokens), else `undefined` — `{"auth_mode":"chatgpt","tokens":null}` is not logged in.
 */
export const loginOf = (doc: AuthDocument): AuthMode | undefined => {
  const mode = modeOf(doc)
  if (mode === "apikey") return doc.apiKey !== undefined ? mode : undefined
  if (mode === "chatgpt") return doc.tokens !== undefined ? mode : undefined
  return undefined
}

/** ID-token claims of a ChatGPT document, if it has parseable tokens. */
export const claimsOf = (doc: AuthDocument): TokenClaims | undefined =>
  doc.tokens === undefined ? undefined : Result.getOrUndefined(parseClaims(Redacted.value(doc.tokens.idToken)))

/** The `oauth_provenance` of a ChatGPT document, if present and well-formed. */
export const provenanceOf = (doc: AuthDocument): OAuthProvenance | undefined => {
  const p = doc.tokens?.extra["oauth_provenance"]
  if (!isPlainObject(p)) return undefined
  const issuer = p["issuer"]
  const clientId = p["client_id"]
  return typeof issuer === "string" && typeof clientId === "string" ? { issuer, clientId } : undefined
}

/** Masks an API key the way Codex prints it: first 8 chars, `***`, last 5. */
export const maskApiKey = (key: string): string =>
  key.length <= 13 ? "***" : `${key.slice(0, 8)}***${key.slice(-5)}`

/** Proactive refresh window before the access token's `exp` (Codex: 5 minutes). */
export const REFRESH_SKEW_MS = 5 * 60 * 1000
/** Refresh when `last_refresh` is older than this (Codex: 8 days). */
export const MAX_REFRESH_AGE_MS = 8 * 24 * 60 * 60 * 1000

/** When a ChatGPT document is due for a proactive refresh (ms); Infinity when never. */
export const refreshDueAt = (
  doc: AuthDocument,
  options: { readonly refreshSkewMs?: number; readonly maxRefreshAgeMs?: number } = {}
): number => {
  if (doc.tokens === undefined) return Number.POSITIVE_INFINITY
  const exp = expiryMillis(Redacted.value(doc.tokens.accessToken))
  const last = doc.lastRefresh !== undefined ? Date.parse(doc.lastRefresh) : Number.NaN
  return Math.min(
    exp !== undefined ? exp - (options.refreshSkewMs ?? REFRESH_SKEW_MS) : Number.POSITIVE_INFINITY,
    Number.isFinite(last) ? last + (options.maxRefreshAgeMs ?? MAX_REFRESH_AGE_MS) : Number.POSITIVE_INFINITY
  )
}

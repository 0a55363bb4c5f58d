/**
 * The browser sign-in's front channel: the authorize URL (request builder) and the redirect it
 * comes back with (response decoder), shared by the loopback callback and paste-back.
 *
 * The URL carries exactly the parameters the Codex CLI sends (`response_type`, `client_id`,
 * `redirect_uri`, `scope`, `code_challenge`, `code_challenge_method`,
 * `id_token_add_organizations`, `codex_cli_simplified_flow`, `state`, `originator`, and
 * `allowed_workspace_id` when policy forces a workspace), in the same order.
 *
 * The redirect is checked in the order RFC 6749 §10.12 asks: `state` first (constant time), and
 * only then `error` or `code`, so a forged redirect without the right state can neither finish
 * nor abort the sign-in.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
 * @since 0.1.0
 */
import type { Errors } from "@codex-auth/core"
import { Redacted } from "effect"
import * as LoginError from "./LoginError.ts"
import { stateMatches } from "./Pkce.ts"

/** The scopes Codex asks for. */
export const SCOPE = "openid profile email offline_access"

/** Ports the issuer's redirect allow-list accepts for the loopback callback, in order of preference. */
export const CALLBACK_PORTS: ReadonlyArray<number> = [1455, 1457]
/** The one path the loopback server answers. */
export const CALLBACK_PATH = "/auth/callback"

/** `http://localhost:{port}/auth/callback`, the redirect URI Codex registers. */
export const loopbackRedirectUri = (port: number): string => `http://localhost:${port}${CALLBACK_PATH}`

export interface AuthorizeParams {
  readonly issuer: string
  readonly clientId: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly state: Redacted.Redacted<string>
  readonly originator: string
  /** Comma-joined workspace ids from policy (`forced_chatgpt_workspace_id`), if any. */
  readonly allowedWorkspaceId?: string | undefined
}

/** `{issuer}/oauth/authorize?…` with Codex's parameters. */
export const authorizeUrl = (p: AuthorizeParams): string => {
  const query = new URLSearchParams()
  query.set("response_type", "code")
  query.set("client_id", p.clientId)
  query.set("redirect_uri", p.redirectUri)
  query.set("scope", SCOPE)
  query.set("code_challenge", p.codeChallenge)
  query.set("code_challenge_method", "S256")
  query.set("id_token_add_organizations", "true")
  query.set("codex_cli_simplified_flow", "true")
  query.set("state", Redacted.value(p.state))
  query.set("originator", p.originator)
  if (p.allowedWorkspaceId !== undefined && p.allowedWorkspaceId.length > 0) query.set("allowed_workspace_id", p.allowedWorkspaceId)
  // URLSearchParams encodes spaces as "+"; Codex (and RFC 3986) use %20.
  return `${p.issuer}/oauth/authorize?${query.toString().replace(/\+/g, "%20")}`
}

/** What a redirect's query said. */
export type RedirectOutcome =
  | { readonly _tag: "Code"; readonly code: Redacted.Redacted<string> }
  | { readonly _tag: "Denied"; readonly failure: Errors.LoginFailed }
  /** `state` absent or different: not ours (or forged); ignore it. */
  | { readonly _tag: "StateMismatch" }
  /** Right state but neither `code` nor `error`. */
  | { readonly _tag: "MissingCode" }

/** Decodes the query of a redirect against the expected state. */
export const decodeRedirect = (query: URLSearchParams, expectedState: Redacted.Redacted<string>): RedirectOutcome => {
  if (!stateMatches(expectedState, query.get("state"))) return { _tag: "StateMismatch" }
  const error = query.get("error")
  if (error !== null && error.length > 0) {
    return { _tag: "Denied", failure: LoginError.fromAuthorizationError(error, query.get("error_description")) }
  }
  const code = query.get("code")
  if (code === null || code.length === 0) return { _tag: "MissingCode" }
  return { _tag: "Code", code: Redacted.make(code) }
}

/** Why a pasted value was not usable (for a retry prompt); never echoes the value. */
export type PasteProblem = "empty" | "not_a_redirect" | "wrong_path" | "state_mismatch" | "missing_code"

export type PasteOutcome =
  | Exclude<RedirectOutcome, { readonly _tag: "StateMismatch" } | { readonly _tag: "MissingCode" }>
  | { readonly _tag: "Unusable"; readonly problem: PasteProblem }

/**
 * Decodes what a user pasted after signing in: the whole redirect URL
 * (`http://localhost:1455/auth/callback?code=…&state=…`), or just its query (`code=…&state=…`,
 * with or without a leading `?`). Surrounding whitespace, quotes and angle brackets are ignored.
 */
export const decodePaste = (input: string, expectedState: Redacted.Redacted<string>): PasteOutcome => {
  const text = input.trim().replace(/^["'<]+|["'>]+$/g, "").trim()
  if (text.length === 0) return { _tag: "Unusable", problem: "empty" }
  let query: URLSearchParams
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL
    try {
      url = new URL(text)
    } catch {
      return { _tag: "Unusable", problem: "not_a_redirect" }
    }
    if (url.pathname !== CALLBACK_PATH) return { _tag: "Unusable", problem: "wrong_path" }
    query = url.searchParams
  } else {
    const q = text.startsWith("?") ? text.slice(1) : text
    if (!/(^|&)(code|error|state)=/.test(q)) return { _tag: "Unusable", problem: "not_a_redirect" }
    query = new URLSearchParams(q)
  }
  const outcome = decodeRedirect(query, expectedState)
  switch (outcome._tag) {
    case "StateMismatch":
      return { _tag: "Unusable", problem: "state_mismatch" }
    case "MissingCode":
      return { _tag: "Unusable", problem: "missing_code" }
    default:
      return outcome
  }
}

/** A sentence explaining a {@link PasteProblem}. */
export const describePasteProblem = (problem: PasteProblem): string => {
  switch (problem) {
    case "empty":
      return "Nothing was pasted."
    case "not_a_redirect":
      return "That is not the sign-in redirect. Paste the whole address from the browser's address bar (it starts with http://localhost:1455/auth/callback?code=)."
    case "wrong_path":
      return "That URL is not the sign-in redirect (its path is not /auth/callback). Paste the address the browser shows after you signed in."
    case "state_mismatch":
      return "That redirect belongs to a different sign-in attempt (its state does not match this one). Use the URL printed above, sign in, and paste the address you land on."
    case "missing_code":
      return "That redirect has no authorization code. Paste the complete address, including everything after the \"?\"."
  }
}

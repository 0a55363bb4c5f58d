/**
 * HTTP helpers for the mock-server tests: PKCE, form/JSON posts, an authorize URL builder and a
 * minimal form reader for the server-rendered pages.
 */
import { createHash, randomBytes } from "node:crypto"
import { CODEX_CLIENT_ID } from "../src/MockConfig.ts"

export const CLIENT_ID = CODEX_CLIENT_ID
export const CALLBACK = "http://localhost:1455/auth/callback"

export const pkce = () => {
  const verifier = randomBytes(64).toString("base64url")
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") }
}

export const authorizeUrl = (issuer: string, overrides: Record<string, string | null> = {}): { url: string; verifier: string; state: string } => {
  const { verifier, challenge } = pkce()
  const state = randomBytes(32).toString("base64url")
  const params: Record<string, string | null> = {
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: CALLBACK,
    scope: "openid profile email offline_access",
    code_challenge: challenge,
    code_challenge_method: "S256",
    id_token_add_organizations: "true",
    codex_cli_simplified_flow: "true",
    state,
    originator: "codex_cli_rs",
    ...overrides
  }
  const qs = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== null))
  return { url: `${issuer}/oauth/authorize?${qs}`, verifier, state: overrides["state"] ?? state }
}

/** A fetch `Response` whose `json()` is untyped, for terse assertions on wire bodies. */
export type Res = Omit<Response, "json"> & { json(): Promise<any> }

export const http = (url: string, init?: RequestInit): Promise<Res> => fetch(url, init)

export const postForm = (url: string, form: Record<string, string>) =>
  http(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form), redirect: "manual" })

export const postJson = (url: string, body: unknown) => http(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

export const getManual = (url: string) => http(url, { redirect: "manual" })

/** The value of the hidden `session` field of a sign-in page. */
export const sessionOf = (html: string): string => {
  const m = /name="session" value="([^"]+)"/.exec(html)
  if (m === null) throw new Error(`no session field in page: ${html.slice(0, 300)}`)
  return m[1]!
}

/** The query parameters of a redirect response's Location. */
export const redirectParams = (res: Res): URLSearchParams => {
  const location = res.headers.get("location")
  if (res.status !== 302 || location === null) throw new Error(`expected a redirect, got ${res.status}`)
  return new URL(location).searchParams
}

export const exchangeCode = (issuer: string, code: string, verifier: string, redirectUri = CALLBACK) =>
  postForm(`${issuer}/oauth/token`, { grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: CLIENT_ID, code_verifier: verifier })

export const refresh = (issuer: string, refreshToken: string) =>
  postJson(`${issuer}/oauth/token`, { client_id: CLIENT_ID, grant_type: "refresh_token", refresh_reason: "proactive_expiry", refresh_token: refreshToken })

export const jwtPayload = (jwt: string): Record<string, any> => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"))

/**
 * What the loopback server does with each request, as a pure function: only `GET` on the exact
 * callback path, with a loopback `Host` (a DNS-rebinding page cannot reach it), and the right
 * `state`, can finish or abort the sign-in. Everything else is answered and ignored, so a stray
 * request, an old tab or a forged redirect never ends the flow. There is no control endpoint:
 * a second login coordinates through a lock file (`LoginLock`), not over HTTP.
 *
 * @since 0.1.0
 */
import type { Errors } from "@codex-auth/core"
import type { Redacted } from "effect"
import { CALLBACK_PATH, decodeRedirect } from "./Authorize.ts"
import * as Pages from "./Pages.ts"

export interface IncomingRequest {
  readonly method: string
  /** The request target as received (path and query). */
  readonly url: string
  /** The `Host` header, if any. */
  readonly host: string | undefined
}

/** Why a request was answered and ignored. */
export type IgnoreReason = "host" | "path" | "method" | "state" | "missing_code"

export type Route =
  /** Answer with this page and keep waiting. */
  | { readonly _tag: "Ignore"; readonly page: Pages.Page; readonly reason: IgnoreReason }
  /** The authorization code for this login. */
  | { readonly _tag: "Code"; readonly code: Redacted.Redacted<string> }
  /** The issuer says no (with this login's state). */
  | { readonly _tag: "Denied"; readonly failure: Errors.LoginFailed }

/** `Host` values a browser sends for the redirect URI (or the literal it resolved). */
export const allowedHosts = (port: number): ReadonlySet<string> =>
  new Set([`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])

export const route = (request: IncomingRequest, options: { readonly port: number; readonly state: Redacted.Redacted<string> }): Route => {
  if (request.host === undefined || !allowedHosts(options.port).has(request.host.toLowerCase())) {
    return { _tag: "Ignore", page: Pages.badHost(), reason: "host" }
  }
  let url: URL
  try {
    url = new URL(request.url, `http://localhost:${options.port}`)
  } catch {
    return { _tag: "Ignore", page: Pages.notFound(), reason: "path" }
  }
  // The raw request target must be origin-form: `//host/…` and absolute-form `http://host/…`
  // parse to the same pathname but are not the exact callback path.
  const rawPath = request.url.split("?", 1)[0]
  if (rawPath !== CALLBACK_PATH || url.pathname !== CALLBACK_PATH) return { _tag: "Ignore", page: Pages.notFound(), reason: "path" }
  if (request.method !== "GET") return { _tag: "Ignore", page: Pages.methodNotAllowed(), reason: "method" }
  const outcome = decodeRedirect(url.searchParams, options.state)
  switch (outcome._tag) {
    case "StateMismatch":
      return { _tag: "Ignore", page: Pages.stateMismatch(), reason: "state" }
    case "MissingCode":
      return { _tag: "Ignore", page: Pages.missingCode(), reason: "missing_code" }
    case "Denied":
      return { _tag: "Denied", failure: outcome.failure }
    case "Code":
      return { _tag: "Code", code: outcome.code }
  }
}

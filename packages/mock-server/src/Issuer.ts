/**
 * The mock issuer's protocol engine: an in-memory, synchronous model of auth.openai.com as the
 * Codex CLI meets it (browser authorization code + PKCE, Codex's device-code protocol, refresh
 * with rotation and reuse detection, token exchange for an API key, revocation, discovery and
 * JWKS), plus the operations behind the `/_harness/` control API.
 *
 * **Details**
 *
 * The engine knows nothing about sockets: it maps a {@link MockRequest} to a
 * {@link MockResponse}. The HTTP layer (`HttpApp.ts`) adds fault injection and recording. All
 * times come from {@link IssuerEngine.now}, the wall clock plus the configured offset.
 *
 * @since 0.1.0
 */
import { Jwt } from "@codex-auth/core"
import { createHash, randomInt, timingSafeEqual } from "node:crypto"
import { FaultQueue } from "./Faults.ts"
import { type Account, findAccount, type MockConfig, type Workspace } from "./MockConfig.ts"
import * as Pages from "./Pages.ts"
import { redactHeaders, redactValue } from "./Redaction.ts"
import { randomToken, type Signer } from "./Signer.ts"

/** An HTTP request as the engine sees it. */
export interface MockRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export type MockResponse =
  | { readonly _tag: "Json"; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly _tag: "Html"; readonly status: number; readonly body: string }
  | { readonly _tag: "Redirect"; readonly location: string }
  | { readonly _tag: "Text"; readonly status: number; readonly body: string; readonly contentType: string; readonly headers?: Readonly<Record<string, string>> }

/** What a recorded request was, for filtering. */
export type RequestKind =
  | "discovery"
  | "jwks"
  | "authorize"
  | "signin"
  | "authorization_code"
  | "refresh_token"
  | "token_exchange"
  | "token"
  | "usercode"
  | "devicetoken"
  | "device_page"
  | "device_callback"
  | "revoke"
  | "userinfo"
  | "unknown"

/** One request as recorded, secrets replaced by `redacted:xxxx` fingerprints. */
export interface RecordedRequest {
  readonly seq: number
  readonly at: string
  readonly method: string
  readonly path: string
  readonly kind: RequestKind
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string>>
  /** Parsed JSON or form body (redacted), the raw text if unparsable, `null` if empty. */
  readonly body: unknown
  /** HTTP status sent; 0 when the connection was dropped by a fault. */
  readonly status: number
  /** The injected fault, if any (`drop`, `status:503`, `malformed`, `slow_down`, `latency:200`). */
  readonly fault?: string
}

/** The tokens of one grant, as the token endpoint returns them. */
export interface TokenSet {
  readonly id_token: string
  readonly access_token: string
  readonly refresh_token: string
  readonly token_type: "Bearer"
  readonly expires_in: number
  readonly scope: string
}

/** A control operation that could not be done (HTTP status and a message). */
export interface ControlFailure {
  readonly status: number
  readonly code: string
  readonly message: string
}

export type ControlResult<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly failure: ControlFailure }

const ok = <A>(value: A): ControlResult<A> => ({ ok: true, value })
const fail = (status: number, code: string, message: string): ControlResult<never> => ({ ok: false, failure: { status, code, message } })

export interface DeviceSummary {
  readonly userCode: string
  readonly status: DeviceStatus
  readonly createdAt: string
  readonly expiresAt: string
  readonly email: string | undefined
  readonly workspaceId: string | undefined
}

export interface PendingAuthorization {
  readonly session: string
  readonly clientId: string
  readonly redirectUri: string
  readonly allowedWorkspaceIds: ReadonlyArray<string> | undefined
  readonly createdAt: string
}

export interface OutboxMessage {
  readonly email: string
  readonly code: string
  readonly at: string
}

type DeviceStatus = "pending" | "approved" | "denied" | "disabled"

interface AuthorizePurpose {
  readonly kind: "authorize"
  readonly clientId: string
  readonly redirectUri: string
  readonly state: string
  readonly codeChallenge: string
  readonly scope: string
  readonly allowedWorkspaceIds: ReadonlyArray<string> | undefined
}

interface SignInSession {
  readonly id: string
  readonly createdAt: number
  readonly purpose: AuthorizePurpose | { readonly kind: "device"; readonly deviceAuthId: string }
  email: string | undefined
  otp: { readonly code: string; attempts: number } | undefined
  otpVerified: boolean
  done: boolean
}

interface DeviceAuth {
  readonly deviceAuthId: string
  readonly userCode: string
  readonly createdAt: number
  readonly expiresAt: number
  readonly codeVerifier: string
  readonly codeChallenge: string
  status: DeviceStatus
  email: string | undefined
  workspaceId: string | undefined
  authorizationCode: string | undefined
}

interface AuthCode {
  readonly code: string
  readonly clientId: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly email: string
  readonly workspaceId: string
  readonly scope: string
  readonly expiresAt: number
  used: boolean
  grantId: string | undefined
}

interface Grant {
  readonly id: string
  readonly email: string
  readonly workspaceId: string
  readonly clientId: string
  readonly scope: string
  revoked: "revoked" | "reused" | undefined
  readonly accessJtis: Set<string>
}

interface RefreshRecord {
  readonly token: string
  readonly grantId: string
  readonly expiresAt: number
  forcedExpired: boolean
  rotatedAt: number | undefined
  successor: TokenSet | undefined
}

interface AccessRecord {
  readonly email: string
  readonly grantId: string | undefined
  revoked: boolean
  forcedExpired: boolean
}

const AUTH_CLAIM = Jwt.OPENAI_AUTH_CLAIM
const PROFILE_CLAIM = Jwt.OPENAI_PROFILE_CLAIM
const DEFAULT_SCOPE = "openid profile email offline_access"
const SESSION_TTL_MS = 15 * 60 * 1000
const MAX_RECORDED = 5000
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
const ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"

const s256 = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url")

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): MockResponse =>
  headers === undefined ? { _tag: "Json", status, body } : { _tag: "Json", status, body, headers }
const html = (status: number, body: string): MockResponse => ({ _tag: "Html", status, body })

/** RFC 6749 §5.2 error body. */
const oauthError = (status: number, error: string, description: string): MockResponse => json(status, { error, error_description: description })

/** The OpenAI API error body, the shape auth.openai.com uses for refresh failures. */
export const openaiError = (status: number, code: string, message: string, headers?: Readonly<Record<string, string>>): MockResponse =>
  json(status, { error: { message, type: "invalid_request_error", param: null, code } }, headers)

const errorPage = (status: number, title: string, message: string): MockResponse => html(status, Pages.messagePage({ title, message, tone: "error" }))

const iso = (ms: number): string => new Date(ms).toISOString()

const parsedBodies = new WeakMap<MockRequest, { readonly value: Record<string, unknown> | undefined }>()

/**
 * Parses a JSON or form body into a record (form values are strings; JSON values are kept).
 * Parsed once per request: classification, handling and recording all read it.
 */
export const parseBody = (req: MockRequest): Record<string, unknown> | undefined => {
  const cached = parsedBodies.get(req)
  if (cached !== undefined) return cached.value
  const value = parseBodyText(req)
  parsedBodies.set(req, { value })
  return value
}

const parseBodyText = (req: MockRequest): Record<string, unknown> | undefined => {
  const text = req.body.trim()
  if (text.length === 0) return undefined
  const type = (req.headers["content-type"] ?? "").toLowerCase()
  const asJson = (): Record<string, unknown> | undefined => {
    try {
      const v: unknown = JSON.parse(text)
      return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
    } catch {
      return undefined
    }
  }
  if (type.includes("json")) return asJson()
  if (type.includes("x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text))
  return asJson() ?? Object.fromEntries(new URLSearchParams(text))
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined)

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"])

/** The engine behind every endpoint and control operation. */
export class IssuerEngine {
  readonly issuer: string
  readonly signer: Signer
  readonly faults = new FaultQueue()
  #config: MockConfig
  #clockOffsetMs: number
  #autoApprove: boolean
  #seq = 0
  #recorded: Array<RecordedRequest> = []
  #outbox: Array<OutboxMessage> = []
  #sessions = new Map<string, SignInSession>()
  #devices = new Map<string, DeviceAuth>()
  #codes = new Map<string, AuthCode>()
  #grants = new Map<string, Grant>()
  #refresh = new Map<string, RefreshRecord>()
  #access = new Map<string, AccessRecord>()

  constructor(options: { readonly issuer: string; readonly config: MockConfig; readonly signer: Signer; readonly autoApprove?: boolean | undefined }) {
    this.issuer = options.issuer.replace(/\/+$/, "")
    this.signer = options.signer
    this.#config = options.config
    this.#clockOffsetMs = options.config.clockOffsetSeconds * 1000
    this.#autoApprove = options.autoApprove ?? options.config.autoApprove
  }

  // ---------------------------------------------------------------- clock, config, recorder

  /** Milliseconds since the epoch on the issuer's clock (wall clock + offset). */
  now(): number {
    return Date.now() + this.#clockOffsetMs
  }

  /** The configuration in effect, with the current clock offset and auto-approve setting. */
  config(): MockConfig {
    return { ...this.#config, clockOffsetSeconds: this.#clockOffsetMs / 1000, autoApprove: this.#autoApprove }
  }

  setClockOffset(seconds: number): void {
    this.#clockOffsetMs = seconds * 1000
  }

  setAutoApprove(enabled: boolean): void {
    this.#autoApprove = enabled
  }

  record(req: MockRequest, kind: RequestKind, status: number, fault?: string): RecordedRequest {
    const parsed = parseBody(req)
    const entry: RecordedRequest = {
      seq: ++this.#seq,
      at: new Date().toISOString(),
      method: req.method,
      path: req.path,
      kind,
      query: redactValue(Object.fromEntries(req.query)) as Record<string, string>,
      headers: redactHeaders(req.headers),
      body: parsed !== undefined ? redactValue(parsed) : req.body.length === 0 ? null : `<${req.body.length} bytes, unparsable>`,
      status,
      ...(fault === undefined ? {} : { fault })
    }
    this.#recorded.push(entry)
    if (this.#recorded.length > MAX_RECORDED) this.#recorded.splice(0, this.#recorded.length - MAX_RECORDED)
    return entry
  }

  requests(): ReadonlyArray<RecordedRequest> {
    return [...this.#recorded]
  }

  clearRequests(): void {
    this.#recorded = []
  }

  outbox(): ReadonlyArray<OutboxMessage> {
    return [...this.#outbox]
  }

  /** Forgets every session, code, token, device code, fault, recorded request and mail; restores the configured clock offset and auto-approve. The signing key stays. */
  reset(): void {
    this.#sessions.clear()
    this.#devices.clear()
    this.#codes.clear()
    this.#grants.clear()
    this.#refresh.clear()
    this.#access.clear()
    this.#recorded = []
    this.#outbox = []
    this.faults.clear()
    this.#clockOffsetMs = this.#config.clockOffsetSeconds * 1000
    this.#autoApprove = this.#config.autoApprove
  }

  // ---------------------------------------------------------------- routing

  /** Classifies a request (for recording and fault selection) without handling it. */
  classify(req: MockRequest): RequestKind {
    const key = `${req.method} ${req.path}`
    switch (key) {
      case "GET /.well-known/openid-configuration":
        return "discovery"
      case "GET /.well-known/jwks.json":
        return "jwks"
      case "GET /oauth/authorize":
        return "authorize"
      case "POST /signin/account":
      case "POST /signin/otp":
      case "POST /signin/workspace":
        return "signin"
      case "POST /oauth/token": {
        const grant = str(parseBody(req)?.["grant_type"])
        return grant === "authorization_code" ? "authorization_code" : grant === "refresh_token" ? "refresh_token" : grant === TOKEN_EXCHANGE_GRANT ? "token_exchange" : "token"
      }
      case "POST /api/accounts/deviceauth/usercode":
        return "usercode"
      case "POST /api/accounts/deviceauth/token":
        return "devicetoken"
      case "GET /codex/device":
      case "POST /codex/device":
        return "device_page"
      case "GET /deviceauth/callback":
        return "device_callback"
      case "POST /oauth/revoke":
        return "revoke"
      case "GET /userinfo":
      case "POST /userinfo":
        return "userinfo"
      default:
        return "unknown"
    }
  }

  /** Handles one protocol request. */
  handle(req: MockRequest, kind: RequestKind = this.classify(req)): MockResponse {
    switch (kind) {
      case "discovery":
        return json(200, this.#discovery(), { "cache-control": "public, max-age=60" })
      case "jwks":
        return json(200, this.signer.jwks, { "cache-control": "public, max-age=60" })
      case "authorize":
        return this.#authorize(req.query)
      case "signin":
        return this.#signinStep(req.path, parseBody(req) ?? {})
      case "authorization_code":
        return this.#exchangeCode(parseBody(req) ?? {})
      case "refresh_token":
        return this.#refreshGrant(parseBody(req) ?? {})
      case "token_exchange":
        return this.#tokenExchange(parseBody(req) ?? {})
      case "token": {
        const body = parseBody(req)
        return body === undefined
          ? oauthError(400, "invalid_request", "The token request has no form or JSON body.")
          : oauthError(400, "unsupported_grant_type", `grant_type ${JSON.stringify(body["grant_type"] ?? null)} is not supported.`)
      }
      case "usercode":
        return this.#userCode(parseBody(req) ?? {})
      case "devicetoken":
        return this.#deviceToken(parseBody(req) ?? {})
      case "device_page":
        return req.method === "GET" ? html(200, Pages.deviceCodePage({})) : this.#devicePageSubmit(parseBody(req) ?? {})
      case "device_callback":
        return html(200, Pages.messagePage({ title: "Device sign-in", message: "This address only receives device sign-ins. Return to your terminal.", tone: "ok" }))
      case "revoke":
        return this.#revoke(parseBody(req) ?? {})
      case "userinfo":
        return this.#userinfo(req.headers["authorization"])
      case "unknown":
        return json(404, { error: { message: `No route for ${req.method} ${req.path}`, type: "invalid_request_error", param: null, code: "not_found" } })
    }
  }

  #discovery() {
    const i = this.issuer
    return {
      issuer: i,
      authorization_endpoint: `${i}/oauth/authorize`,
      token_endpoint: `${i}/oauth/token`,
      revocation_endpoint: `${i}/oauth/revoke`,
      userinfo_endpoint: `${i}/userinfo`,
      jwks_uri: `${i}/.well-known/jwks.json`,
      device_authorization_endpoint: `${i}/api/accounts/deviceauth/usercode`,
      response_types_supported: ["code"],
      response_modes_supported: ["query"],
      grant_types_supported: ["authorization_code", "refresh_token", TOKEN_EXCHANGE_GRANT],
      code_challenge_methods_supported: ["S256"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["none"],
      revocation_endpoint_auth_methods_supported: ["none"],
      scopes_supported: ["openid", "profile", "email", "offline_access", "api.connectors.read", "api.connectors.invoke"],
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "email", "email_verified", AUTH_CLAIM]
    }
  }

  // ---------------------------------------------------------------- browser authorization

  #redirectAllowed(uri: string): boolean {
    if (this.#config.redirectUris.includes(uri) || uri === `${this.issuer}/deviceauth/callback`) return true
    let url: URL
    try {
      url = new URL(uri)
    } catch {
      return false
    }
    if (url.protocol !== "http:" || !LOOPBACK_HOSTS.has(url.hostname) || url.pathname !== "/auth/callback") return false
    if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") return false
    return this.#config.allowAnyLoopbackPort ? url.port !== "" : url.port === "1455" || url.port === "1457"
  }

  #redirect(redirectUri: string, params: Record<string, string | undefined>): MockResponse {
    const url = new URL(redirectUri)
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v)
    return { _tag: "Redirect", location: url.toString() }
  }

  #authorize(q: URLSearchParams): MockResponse {
    const clientId = q.get("client_id")
    if (clientId === null || clientId.length === 0) return errorPage(400, "Sign-in error", "The request has no client_id.")
    if (clientId !== this.#config.clientId) return errorPage(400, "Sign-in error", `Unknown client_id ${clientId}.`)
    const redirectUri = q.get("redirect_uri")
    if (redirectUri === null || !this.#redirectAllowed(redirectUri)) {
      return errorPage(
        400,
        "Sign-in error",
        `redirect_uri ${redirectUri === null ? "(missing)" : redirectUri} is not registered for this client. Allowed: http://localhost:1455/auth/callback or :1457 (also 127.0.0.1 and [::1]), or ${this.issuer}/deviceauth/callback.`
      )
    }
    const state = q.get("state")
    const reject = (error: string, description: string) => this.#redirect(redirectUri, { error, error_description: description, state: state ?? undefined })
    if (q.get("response_type") !== "code") return reject("unsupported_response_type", "response_type must be code.")
    if (state === null || state.length === 0) return reject("invalid_request", "state is required.")
    const challenge = q.get("code_challenge")
    if (challenge === null || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) return reject("invalid_request", "code_challenge (PKCE, 43 base64url characters) is required.")
    if (q.get("code_challenge_method") !== "S256") return reject("invalid_request", "code_challenge_method must be S256.")
    const scope = q.get("scope") ?? ""
    if (!scope.split(/\s+/).includes("openid")) return reject("invalid_scope", "scope must include openid.")
    const allowedRaw = q.get("allowed_workspace_id")
    const allowedWorkspaceIds = allowedRaw === null ? undefined : allowedRaw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    const session = this.#newSession({ kind: "authorize", clientId, redirectUri, state, codeChallenge: challenge, scope, allowedWorkspaceIds })
    if (this.#autoApprove) return this.#approveDefault(session)
    return this.#accountStep(session)
  }

  #newSession(purpose: SignInSession["purpose"]): SignInSession {
    const session: SignInSession = { id: randomToken(18), createdAt: this.now(), purpose, email: undefined, otp: undefined, otpVerified: false, done: false }
    this.#sessions.set(session.id, session)
    return session
  }

  #requester(session: SignInSession): Pages.Requester {
    if (session.purpose.kind === "authorize") return { kind: "authorize", redirectHost: new URL(session.purpose.redirectUri).host }
    const device = this.#devices.get(session.purpose.deviceAuthId)
    return { kind: "device", userCode: device?.userCode ?? "" }
  }

  #accountStep(session: SignInSession, error?: string): MockResponse {
    return html(
      error === undefined ? 200 : 400,
      Pages.accountPage({ session: session.id, requester: this.#requester(session), accounts: this.#config.accounts, selected: session.email ?? this.#config.defaultAccount, error })
    )
  }

  #defaultWorkspace(account: Account, session: SignInSession | undefined): Workspace {
    const allowed = session?.purpose.kind === "authorize" ? session.purpose.allowedWorkspaceIds : undefined
    return (allowed === undefined ? undefined : account.workspaces.find((w) => allowed.includes(w.id))) ?? account.workspaces[0]!
  }

  #approveDefault(session: SignInSession): MockResponse {
    const account = findAccount(this.#config, this.#config.defaultAccount)!
    return this.#complete(session, account, this.#defaultWorkspace(account, session))
  }

  #signinStep(path: string, form: Record<string, unknown>): MockResponse {
    const session = this.#sessions.get(str(form["session"]) ?? "")
    if (session === undefined || session.done || this.now() - session.createdAt > SESSION_TTL_MS) {
      return errorPage(400, "Sign-in expired", "This sign-in is unknown, finished or expired. Start again from your terminal.")
    }
    if (form["action"] === "cancel") return this.#deny(session, "access_denied", "The user cancelled the sign-in.")
    if (path === "/signin/account") {
      const account = findAccount(this.#config, str(form["account"]) ?? "")
      if (account === undefined) return this.#accountStep(session, "Choose one of the accounts.")
      session.email = account.email
      session.otp = undefined
      session.otpVerified = false
      return this.#afterAccount(session, account)
    }
    const account = session.email === undefined ? undefined : findAccount(this.#config, session.email)
    if (account === undefined) return this.#accountStep(session, "Choose an account first.")
    if (path === "/signin/otp") {
      if (session.otp === undefined) return this.#afterAccount(session, account)
      if (!safeEqual(str(form["otp"])?.trim() ?? "", session.otp.code)) {
        session.otp.attempts += 1
        if (session.otp.attempts >= 5) return this.#deny(session, "access_denied", "Too many wrong one-time codes.")
        return html(400, Pages.otpPage({ session: session.id, email: account.email, error: "That code is not right. Check the latest email and try again." }))
      }
      session.otpVerified = true
      return this.#afterAccount(session, account)
    }
    if (session.otp !== undefined && !session.otpVerified) return this.#afterAccount(session, account)
    const workspace = account.workspaces.find((w) => w.id === str(form["workspace"]))
    if (workspace === undefined) return this.#workspaceStep(session, account, "Choose one of the workspaces.")
    return this.#complete(session, account, workspace)
  }

  #afterAccount(session: SignInSession, account: Account): MockResponse {
    if (account.passwordOnly && !account.mfa && !session.otpVerified) {
      if (session.otp === undefined) {
        const code = String(randomInt(0, 1_000_000)).padStart(6, "0")
        session.otp = { code, attempts: 0 }
        this.#outbox.push({ email: account.email, code, at: iso(this.now()) })
      }
      return html(200, Pages.otpPage({ session: session.id, email: account.email }))
    }
    if (account.workspaces.length === 1) return this.#complete(session, account, account.workspaces[0]!)
    return this.#workspaceStep(session, account)
  }

  #workspaceStep(session: SignInSession, account: Account, error?: string): MockResponse {
    const allowed = session.purpose.kind === "authorize" ? session.purpose.allowedWorkspaceIds : undefined
    return html(error === undefined ? 200 : 400, Pages.workspacePage({ session: session.id, email: account.email, workspaces: account.workspaces, allowed, error }))
  }

  #deny(session: SignInSession, error: string, description: string): MockResponse {
    session.done = true
    if (session.purpose.kind === "authorize") {
      return this.#redirect(session.purpose.redirectUri, { error, error_description: description, state: session.purpose.state })
    }
    const device = this.#devices.get(session.purpose.deviceAuthId)
    if (device !== undefined && device.status === "pending") device.status = "denied"
    return errorPage(403, "Sign-in denied", `${description} The device was not signed in; you can close this window.`)
  }

  #complete(session: SignInSession, account: Account, workspace: Workspace): MockResponse {
    if (!account.codexEntitlement) {
      return this.#deny(session, "access_denied", `missing_codex_entitlement: Codex is not enabled for ${account.email} in workspace ${workspace.name}.`)
    }
    const purpose = session.purpose
    if (purpose.kind === "authorize") {
      if (purpose.allowedWorkspaceIds !== undefined && !purpose.allowedWorkspaceIds.includes(workspace.id)) {
        return this.#deny(session, "access_denied", `workspace_not_allowed: workspace ${workspace.id} is not in allowed_workspace_id (${purpose.allowedWorkspaceIds.join(",")}).`)
      }
      session.done = true
      const code = this.#newCode({ clientId: purpose.clientId, redirectUri: purpose.redirectUri, codeChallenge: purpose.codeChallenge, email: account.email, workspaceId: workspace.id, scope: purpose.scope })
      return this.#redirect(purpose.redirectUri, { code, scope: purpose.scope, state: purpose.state })
    }
    const device = this.#devices.get(purpose.deviceAuthId)
    session.done = true
    if (device === undefined || device.status !== "pending" || this.now() > device.expiresAt) {
      return errorPage(400, "Code expired", "This device code is no longer waiting for approval. Start the sign-in again in your terminal.")
    }
    if (!this.#approveDeviceWith(device, account, workspace)) {
      return errorPage(403, "Device code sign-in is not enabled", `Device code login is not enabled for ${account.email}. Enable it in your ChatGPT security settings, or ask your workspace admin, then start again.`)
    }
    return html(200, Pages.messagePage({ title: "Device signed in", message: `Codex CLI on your other device is now signed in as ${account.email} (${workspace.name}). You can close this window and return to your terminal.`, tone: "ok" }))
  }

  #newCode(c: Omit<AuthCode, "code" | "expiresAt" | "used" | "grantId">): string {
    const code = `ac_${randomToken(32)}`
    this.#codes.set(code, { ...c, code, expiresAt: this.now() + this.#config.tokens.authorizationCodeTtlSeconds * 1000, used: false, grantId: undefined })
    return code
  }

  // ---------------------------------------------------------------- device code

  #userCode(body: Record<string, unknown>): MockResponse {
    const clientId = str(body["client_id"])
    if (clientId !== this.#config.clientId) return openaiError(400, "invalid_client", `Unknown client_id ${JSON.stringify(clientId ?? null)}.`)
    if (!this.#config.deviceAuthEnabled) {
      return openaiError(404, "device_login_disabled", "Device code login is not enabled. Enable it in ChatGPT security settings or ask your workspace admin.")
    }
    let userCode: string
    do {
      const pick = () => Array.from({ length: 4 }, () => USER_CODE_ALPHABET[randomInt(0, USER_CODE_ALPHABET.length)]).join("")
      userCode = `${pick()}-${pick()}`
    } while ([...this.#devices.values()].some((d) => d.userCode === userCode))
    const codeVerifier = randomToken(64)
    const now = this.now()
    const device: DeviceAuth = {
      deviceAuthId: `deviceauth_${randomToken(18)}`,
      userCode,
      createdAt: now,
      expiresAt: now + this.#config.device.expirySeconds * 1000,
      codeVerifier,
      codeChallenge: s256(codeVerifier),
      status: "pending",
      email: undefined,
      workspaceId: undefined,
      authorizationCode: undefined
    }
    this.#devices.set(device.deviceAuthId, device)
    if (this.#autoApprove) {
      const account = findAccount(this.#config, this.#config.defaultAccount)!
      this.#approveDeviceWith(device, account, account.workspaces[0]!)
    }
    return json(200, { device_auth_id: device.deviceAuthId, user_code: userCode, interval: String(this.#config.device.intervalSeconds), expires_at: iso(device.expiresAt) })
  }

  /** Approves with this account; `false` when device login is disabled for it. */
  #approveDeviceWith(device: DeviceAuth, account: Account, workspace: Workspace): boolean {
    device.email = account.email
    device.workspaceId = workspace.id
    if (!account.deviceLogin) {
      device.status = "disabled"
      return false
    }
    device.status = "approved"
    device.authorizationCode = this.#newCode({
      clientId: this.#config.clientId,
      redirectUri: `${this.issuer}/deviceauth/callback`,
      codeChallenge: device.codeChallenge,
      email: account.email,
      workspaceId: workspace.id,
      scope: DEFAULT_SCOPE
    })
    return true
  }

  #deviceToken(body: Record<string, unknown>): MockResponse {
    const device = this.#devices.get(str(body["device_auth_id"]) ?? "")
    if (device === undefined || !safeEqual(str(body["user_code"]) ?? "", device.userCode)) {
      return openaiError(400, "invalid_request", "Unknown device_auth_id or user_code. Start the device sign-in again.")
    }
    const expired = this.now() > device.expiresAt
    switch (device.status) {
      case "denied":
        return openaiError(400, "access_denied", "The sign-in was denied.")
      case "disabled":
        return openaiError(404, "device_login_disabled", `Device code login is not enabled for ${device.email ?? "this account"}.`)
      case "pending":
        return expired
          ? openaiError(400, "expired_token", "The device code expired. Start the device sign-in again.")
          : openaiError(403, "authorization_pending", "The user has not approved this device code yet.")
      case "approved": {
        const code = this.#codes.get(device.authorizationCode ?? "")
        if (code === undefined || code.used || this.now() > code.expiresAt) {
          return openaiError(400, "invalid_grant", "This device code was already used or its authorization code expired. Start the device sign-in again.")
        }
        return json(200, { authorization_code: code.code, code_challenge: device.codeChallenge, code_verifier: device.codeVerifier })
      }
    }
  }

  /** The device code a person typed, ignoring case, spaces and dashes. */
  #deviceByUserCode(typed: string): DeviceAuth | undefined {
    const normalised = typed.toUpperCase().replace(/[^A-Z0-9]/g, "")
    return [...this.#devices.values()].find((d) => d.userCode.replace("-", "") === normalised)
  }

  #devicePageSubmit(form: Record<string, unknown>): MockResponse {
    const typed = str(form["user_code"]) ?? ""
    const device = this.#deviceByUserCode(typed)
    if (device === undefined) return html(400, Pages.deviceCodePage({ error: "That code is not valid. Check the code in your terminal.", value: typed }))
    if (device.status !== "pending" || this.now() > device.expiresAt) {
      return html(400, Pages.deviceCodePage({ error: "That code has expired or was already used. Start the sign-in again in your terminal.", value: typed }))
    }
    return this.#accountStep(this.#newSession({ kind: "device", deviceAuthId: device.deviceAuthId }))
  }

  // ---------------------------------------------------------------- token endpoint

  #issue(grant: Grant, ttl?: { readonly accessTokenTtlSeconds?: number | undefined; readonly idTokenTtlSeconds?: number | undefined }): TokenSet {
    const account = findAccount(this.#config, grant.email)!
    const workspace = account.workspaces.find((w) => w.id === grant.workspaceId) ?? account.workspaces[0]!
    const now = this.now()
    const iat = Math.floor(now / 1000)
    const accessTtl = ttl?.accessTokenTtlSeconds ?? this.#config.tokens.accessTokenTtlSeconds
    const idTtl = ttl?.idTokenTtlSeconds ?? this.#config.tokens.idTokenTtlSeconds
    const auth = {
      chatgpt_plan_type: workspace.plan,
      chatgpt_account_id: workspace.id,
      chatgpt_user_id: account.userId,
      user_id: account.userId,
      organizations: account.organizations.map((o) => ({ id: o.id, title: o.title, role: o.role, is_default: o.isDefault })),
      groups: []
    }
    const profile = { email: account.email, email_verified: true }
    const accessJti = randomToken(16)
    const idToken = this.signer.sign({
      iss: this.issuer,
      aud: [grant.clientId],
      sub: account.userId,
      email: account.email,
      email_verified: true,
      name: account.name,
      iat,
      auth_time: iat,
      exp: iat + idTtl,
      jti: randomToken(16),
      [AUTH_CLAIM]: auth
    })
    const accessToken = this.signer.sign({
      iss: this.issuer,
      aud: ["https://api.openai.com/v1"],
      client_id: grant.clientId,
      sub: account.userId,
      iat,
      nbf: iat,
      exp: iat + accessTtl,
      jti: accessJti,
      scp: grant.scope.split(/\s+/).filter((s) => s.length > 0),
      [AUTH_CLAIM]: auth,
      [PROFILE_CLAIM]: profile
    })
    grant.accessJtis.add(accessJti)
    this.#access.set(accessJti, { email: account.email, grantId: grant.id, revoked: false, forcedExpired: false })
    const refreshToken = `rt_${randomToken(32)}`
    this.#refresh.set(refreshToken, {
      token: refreshToken,
      grantId: grant.id,
      expiresAt: now + this.#config.tokens.refreshTokenTtlSeconds * 1000,
      forcedExpired: false,
      rotatedAt: undefined,
      successor: undefined
    })
    return { id_token: idToken, access_token: accessToken, refresh_token: refreshToken, token_type: "Bearer", expires_in: accessTtl, scope: grant.scope }
  }

  #newGrant(g: Omit<Grant, "id" | "revoked" | "accessJtis">): Grant {
    const grant: Grant = { ...g, id: randomToken(12), revoked: undefined, accessJtis: new Set() }
    this.#grants.set(grant.id, grant)
    return grant
  }

  #revokeGrant(grant: Grant, why: "revoked" | "reused"): void {
    grant.revoked ??= why
    for (const jti of grant.accessJtis) {
      const a = this.#access.get(jti)
      if (a !== undefined) a.revoked = true
    }
  }

  #exchangeCode(p: Record<string, unknown>): MockResponse {
    if (str(p["client_id"]) !== this.#config.clientId) return oauthError(401, "invalid_client", `Unknown client_id ${JSON.stringify(p["client_id"] ?? null)}.`)
    const code = this.#codes.get(str(p["code"]) ?? "")
    if (code === undefined) return oauthError(400, "invalid_grant", "The authorization code is unknown.")
    if (code.used) {
      const grant = code.grantId === undefined ? undefined : this.#grants.get(code.grantId)
      if (grant !== undefined) this.#revokeGrant(grant, "revoked")
      return oauthError(400, "invalid_grant", "The authorization code was already used; tokens issued from it were revoked.")
    }
    if (this.now() > code.expiresAt) return oauthError(400, "invalid_grant", "The authorization code expired.")
    if (code.clientId !== str(p["client_id"])) return oauthError(400, "invalid_grant", "The authorization code was issued to another client.")
    if (str(p["redirect_uri"]) !== code.redirectUri) return oauthError(400, "invalid_grant", "redirect_uri does not match the authorization request.")
    const verifier = str(p["code_verifier"])
    if (verifier === undefined || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return oauthError(400, "invalid_request", "code_verifier (43-128 unreserved characters) is required.")
    if (!safeEqual(s256(verifier), code.codeChallenge)) return oauthError(400, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge.")
    code.used = true
    const grant = this.#newGrant({ email: code.email, workspaceId: code.workspaceId, clientId: code.clientId, scope: code.scope })
    code.grantId = grant.id
    return json(200, this.#issue(grant), { "cache-control": "no-store" })
  }

  #refreshGrant(p: Record<string, unknown>): MockResponse {
    if (str(p["client_id"]) !== this.#config.clientId) return openaiError(401, "invalid_client", `Unknown client_id ${JSON.stringify(p["client_id"] ?? null)}.`)
    const token = str(p["refresh_token"])
    if (token === undefined) return openaiError(400, "invalid_request", "refresh_token is required.")
    const record = this.#refresh.get(token)
    const grant = record === undefined ? undefined : this.#grants.get(record.grantId)
    if (record === undefined || grant === undefined) return openaiError(401, "invalid_grant", "Refresh token not found. Please try signing in again.")
    if (grant.revoked !== undefined) return openaiError(401, "refresh_token_invalidated", "Your refresh token has been invalidated. Please try signing in again.")
    const now = this.now()
    if (record.rotatedAt !== undefined) {
      if (record.successor !== undefined && now - record.rotatedAt <= this.#config.tokens.reuseGraceMs) return json(200, record.successor, { "cache-control": "no-store" })
      this.#revokeGrant(grant, "reused")
      return openaiError(401, "refresh_token_reused", "Your refresh token has already been used to generate a new access token. Please try signing in again.")
    }
    if (record.forcedExpired || now >= record.expiresAt) return openaiError(401, "refresh_token_expired", "Your refresh token has expired. Please try signing in again.")
    const tokens = this.#issue(grant)
    record.rotatedAt = now
    record.successor = tokens
    return json(200, tokens, { "cache-control": "no-store" })
  }

  #tokenExchange(p: Record<string, unknown>): MockResponse {
    if (str(p["client_id"]) !== this.#config.clientId) return oauthError(401, "invalid_client", `Unknown client_id ${JSON.stringify(p["client_id"] ?? null)}.`)
    if (str(p["requested_token"]) !== "openai-api-key") return oauthError(400, "invalid_request", "requested_token must be openai-api-key.")
    if (str(p["subject_token_type"]) !== ID_TOKEN_TYPE) return oauthError(400, "invalid_request", `subject_token_type must be ${ID_TOKEN_TYPE}.`)
    const claims = this.signer.verify(str(p["subject_token"]) ?? "")
    if (claims === undefined || claims["iss"] !== this.issuer) return oauthError(400, "invalid_grant", "subject_token is not an ID token from this issuer.")
    if (typeof claims["exp"] !== "number" || claims["exp"] * 1000 <= this.now()) return oauthError(400, "invalid_grant", "subject_token has expired.")
    return json(200, { access_token: `sk-mock-${randomToken(24)}`, issued_token_type: "urn:ietf:params:oauth:token-type:access_token", token_type: "Bearer" }, { "cache-control": "no-store" })
  }

  // ---------------------------------------------------------------- revocation, userinfo

  #revoke(p: Record<string, unknown>): MockResponse {
    const token = str(p["token"])
    if (token === undefined) return oauthError(400, "invalid_request", "token is required.")
    const clientId = str(p["client_id"])
    if (clientId !== undefined && clientId !== this.#config.clientId) return oauthError(401, "invalid_client", `Unknown client_id ${clientId}.`)
    const record = this.#refresh.get(token)
    if (record !== undefined) {
      const grant = this.#grants.get(record.grantId)
      if (grant !== undefined) this.#revokeGrant(grant, "revoked")
      return json(200, {})
    }
    const claims = this.signer.verify(token)
    const access = typeof claims?.["jti"] === "string" ? this.#access.get(claims["jti"]) : undefined
    if (access !== undefined) access.revoked = true
    return json(200, {})
  }

  #userinfo(authorization: string | undefined): MockResponse {
    const challenge = (code: string, message: string) => openaiError(401, code, message, { "www-authenticate": `Bearer error="invalid_token", error_description="${message}"` })
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")
    if (m === null) return challenge("invalid_token", "A Bearer access token is required.")
    const claims = this.signer.verify(m[1]!)
    const record = typeof claims?.["jti"] === "string" ? this.#access.get(claims["jti"]) : undefined
    if (claims === undefined || record === undefined) return challenge("invalid_token", "The access token is not from this issuer.")
    if (record.revoked) return challenge("token_revoked", "The access token was revoked.")
    if (record.forcedExpired || typeof claims["exp"] !== "number" || claims["exp"] * 1000 <= this.now()) return challenge("token_expired", "The access token has expired.")
    const account = findAccount(this.#config, record.email)
    return json(200, { sub: claims["sub"], email: account?.email, email_verified: true, name: account?.name, [AUTH_CLAIM]: claims[AUTH_CLAIM] })
  }

  // ---------------------------------------------------------------- control operations

  devices(): ReadonlyArray<DeviceSummary> {
    return [...this.#devices.values()].map((d) => this.#summary(d))
  }

  #summary(d: DeviceAuth): DeviceSummary {
    return {
      userCode: d.userCode,
      status: d.status,
      createdAt: iso(d.createdAt),
      expiresAt: iso(d.expiresAt),
      email: d.email,
      workspaceId: d.workspaceId
    }
  }

  #resolveChoice(email: string | undefined, workspaceId: string | undefined, session?: SignInSession): ControlResult<{ account: Account; workspace: Workspace }> {
    const account = findAccount(this.#config, email ?? this.#config.defaultAccount)
    if (account === undefined) return fail(404, "unknown_account", `No account with email ${email}. Known: ${this.#config.accounts.map((a) => a.email).join(", ")}.`)
    const workspace = workspaceId === undefined ? this.#defaultWorkspace(account, session) : account.workspaces.find((w) => w.id === workspaceId)
    if (workspace === undefined) return fail(404, "unknown_workspace", `Account ${account.email} has no workspace ${workspaceId}.`)
    return ok({ account, workspace })
  }

  #pendingDevice(userCode: string): ControlResult<DeviceAuth> {
    const device = this.#deviceByUserCode(userCode)
    if (device === undefined) return fail(404, "unknown_user_code", `No device code ${userCode}.`)
    if (device.status !== "pending") return fail(409, "not_pending", `Device code ${device.userCode} is ${device.status}, not pending.`)
    if (this.now() > device.expiresAt) return fail(409, "expired", `Device code ${device.userCode} has expired.`)
    return ok(device)
  }

  /** Approves a pending device code (as if the user approved it on `/codex/device`). */
  approveDevice(userCode: string, choice: { readonly email?: string | undefined; readonly workspaceId?: string | undefined } = {}): ControlResult<DeviceSummary> {
    const device = this.#pendingDevice(userCode)
    if (!device.ok) return device
    const picked = this.#resolveChoice(choice.email, choice.workspaceId)
    if (!picked.ok) return picked
    this.#approveDeviceWith(device.value, picked.value.account, picked.value.workspace)
    return ok(this.#summary(device.value))
  }

  denyDevice(userCode: string): ControlResult<DeviceSummary> {
    const device = this.#pendingDevice(userCode)
    if (!device.ok) return device
    device.value.status = "denied"
    return ok(this.#summary(device.value))
  }

  pendingAuthorizations(): ReadonlyArray<PendingAuthorization> {
    const now = this.now()
    return [...this.#sessions.values()]
      .filter((s) => !s.done && now - s.createdAt <= SESSION_TTL_MS && s.purpose.kind === "authorize")
      .map((s) => {
        const p = s.purpose as AuthorizePurpose
        return { session: s.id, clientId: p.clientId, redirectUri: p.redirectUri, allowedWorkspaceIds: p.allowedWorkspaceIds, createdAt: iso(s.createdAt) }
      })
  }

  #pendingSession(id: string | undefined): ControlResult<SignInSession> {
    const pending = this.pendingAuthorizations()
    const chosen = id === undefined ? pending[pending.length - 1] : pending.find((p) => p.session === id)
    if (chosen === undefined) return fail(404, "no_pending_authorization", id === undefined ? "No browser sign-in is waiting." : `No pending browser sign-in ${id}.`)
    return ok(this.#sessions.get(chosen.session)!)
  }

  /**
   * Approves a pending browser sign-in (the most recent one unless `session` is given) and
   * returns the callback URL the browser would be redirected to (with `code` or `error`).
   */
  approveAuthorization(choice: { readonly session?: string | undefined; readonly email?: string | undefined; readonly workspaceId?: string | undefined } = {}): ControlResult<{ readonly redirectTo: string }> {
    const session = this.#pendingSession(choice.session)
    if (!session.ok) return session
    const picked = this.#resolveChoice(choice.email, choice.workspaceId, session.value)
    if (!picked.ok) return picked
    const response = this.#complete(session.value, picked.value.account, picked.value.workspace)
    return response._tag === "Redirect" ? ok({ redirectTo: response.location }) : fail(500, "internal", "The sign-in did not end in a redirect.")
  }

  /** Denies a pending browser sign-in; `reason` `missing_codex_entitlement` mimics an account without Codex. */
  denyAuthorization(choice: { readonly session?: string | undefined; readonly reason?: "access_denied" | "missing_codex_entitlement" | undefined } = {}): ControlResult<{ readonly redirectTo: string }> {
    const session = this.#pendingSession(choice.session)
    if (!session.ok) return session
    const description = choice.reason === "missing_codex_entitlement" ? "missing_codex_entitlement: Codex is not enabled for this account." : "The user denied the request."
    const response = this.#deny(session.value, "access_denied", description)
    return response._tag === "Redirect" ? ok({ redirectTo: response.location }) : fail(500, "internal", "The denial did not end in a redirect.")
  }

  #grantsOf(email: string | undefined): ReadonlyArray<Grant> {
    return [...this.#grants.values()].filter((g) => email === undefined || g.email.toLowerCase() === email.toLowerCase())
  }

  /** Revokes every grant (refresh and access tokens) of an account. */
  revokeAccount(email: string): ControlResult<{ readonly grants: number }> {
    if (findAccount(this.#config, email) === undefined) return fail(404, "unknown_account", `No account with email ${email}.`)
    const grants = this.#grantsOf(email).filter((g) => g.revoked === undefined)
    for (const g of grants) this.#revokeGrant(g, "revoked")
    return ok({ grants: grants.length })
  }

  /** Marks access and/or refresh tokens (of one account, or all) as expired server-side. */
  expireTokens(options: { readonly email?: string | undefined; readonly access?: boolean | undefined; readonly refresh?: boolean | undefined }): ControlResult<{ readonly accessTokens: number; readonly refreshTokens: number }> {
    if (options.email !== undefined && findAccount(this.#config, options.email) === undefined) return fail(404, "unknown_account", `No account with email ${options.email}.`)
    const grantIds = new Set(this.#grantsOf(options.email).map((g) => g.id))
    let accessTokens = 0
    let refreshTokens = 0
    if (options.access !== false) {
      for (const a of this.#access.values()) {
        if (a.grantId !== undefined && grantIds.has(a.grantId) && !a.forcedExpired) {
          a.forcedExpired = true
          accessTokens++
        }
      }
    }
    if (options.refresh === true) {
      for (const r of this.#refresh.values()) {
        if (grantIds.has(r.grantId) && !r.forcedExpired) {
          r.forcedExpired = true
          refreshTokens++
        }
      }
    }
    return ok({ accessTokens, refreshTokens })
  }

  /**
   * Mints a fresh grant for an account without a sign-in, e.g. to write an `auth.json` whose
   * access token is already expired (`accessTokenTtlSeconds: -60`).
   */
  mintTokens(options: {
    readonly email?: string | undefined
    readonly workspaceId?: string | undefined
    readonly accessTokenTtlSeconds?: number | undefined
    readonly idTokenTtlSeconds?: number | undefined
  } = {}): ControlResult<TokenSet & { readonly account_id: string }> {
    const picked = this.#resolveChoice(options.email, options.workspaceId)
    if (!picked.ok) return picked
    const grant = this.#newGrant({ email: picked.value.account.email, workspaceId: picked.value.workspace.id, clientId: this.#config.clientId, scope: DEFAULT_SCOPE })
    return ok({ ...this.#issue(grant, options), account_id: picked.value.workspace.id })
  }

  /** Whether a refresh token is still usable (not rotated, revoked or expired); for tests. */
  refreshTokenState(token: string): "active" | "rotated" | "revoked" | "expired" | "unknown" {
    const record = this.#refresh.get(token)
    const grant = record === undefined ? undefined : this.#grants.get(record.grantId)
    if (record === undefined || grant === undefined) return "unknown"
    if (grant.revoked !== undefined) return "revoked"
    if (record.rotatedAt !== undefined) return "rotated"
    if (record.forcedExpired || this.now() >= record.expiresAt) return "expired"
    return "active"
  }
}

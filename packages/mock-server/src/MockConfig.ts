/**
 * Configuration of the mock issuer: accounts, workspaces, plans, MFA, device login, token
 * lifetimes, the refresh-token reuse grace window, the clock offset and device-code timing.
 *
 * **Details**
 *
 * Input comes from options (camelCase) or from a JSON or TOML file, where keys may be written
 * in snake_case (`access_token_ttl_seconds`) or camelCase; both are normalised before
 * validation. Unknown keys are rejected so that a typo never silently falls back to a default.
 * Missing values take the defaults below: `user@example.com` (plan `plus`, one personal
 * workspace) and `team@example.com` (plan `team`, two workspaces).
 *
 * @since 0.1.0
 */
import { Errors, RefreshTransport } from "@codex-auth/core"
import { Effect, Result, Schema } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { extname } from "node:path"
import { parse as parseToml } from "smol-toml"

/** The public client id of the Codex CLI (core's `RefreshTransport.DEFAULT_CLIENT_ID`). */
export const CODEX_CLIENT_ID = RefreshTransport.DEFAULT_CLIENT_ID

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const WorkspaceInput = Schema.Struct({
  id: Schema.NonEmptyString,
  name: Schema.String,
  /** Overrides the account's plan inside this workspace (e.g. `team`, `enterprise`). */
  plan: Schema.optionalKey(Schema.NonEmptyString),
  role: Schema.optionalKey(Schema.NonEmptyString)
})

const OrganizationInput = Schema.Struct({
  id: Schema.NonEmptyString,
  title: Schema.String,
  role: Schema.optionalKey(Schema.String),
  isDefault: Schema.optionalKey(Schema.Boolean)
})

const AccountInput = Schema.Struct({
  email: Schema.NonEmptyString,
  userId: Schema.optionalKey(Schema.NonEmptyString),
  name: Schema.optionalKey(Schema.String),
  plan: Schema.optionalKey(Schema.NonEmptyString),
  /** Signs in with a password only; without MFA such an account gets a one-time-code step. */
  passwordOnly: Schema.optionalKey(Schema.Boolean),
  mfa: Schema.optionalKey(Schema.Boolean),
  /** `false`: sign-in ends with `access_denied` / `missing_codex_entitlement`. */
  codexEntitlement: Schema.optionalKey(Schema.Boolean),
  /** `false`: approving a device code with this account leaves the poll answering 404. */
  deviceLogin: Schema.optionalKey(Schema.Boolean),
  workspaces: Schema.optionalKey(Schema.Array(WorkspaceInput)),
  organizations: Schema.optionalKey(Schema.Array(OrganizationInput))
})

const TokensInput = Schema.Struct({
  accessTokenTtlSeconds: Schema.optionalKey(Schema.Int),
  idTokenTtlSeconds: Schema.optionalKey(Schema.Int),
  refreshTokenTtlSeconds: Schema.optionalKey(Schema.Int),
  authorizationCodeTtlSeconds: Schema.optionalKey(Schema.Int),
  /** A reused refresh token inside this window gets the same rotated answer; 0 = strict. */
  reuseGraceMs: Schema.optionalKey(NonNegativeInt)
})

const DeviceInput = Schema.Struct({
  intervalSeconds: Schema.optionalKey(NonNegativeInt),
  expirySeconds: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
})

/** What a caller or a config file may give; every key is optional. */
export const MockConfigInput = Schema.Struct({
  clientId: Schema.optionalKey(Schema.NonEmptyString),
  accounts: Schema.optionalKey(Schema.Array(AccountInput).check(Schema.isMinLength(1))),
  /** Email of the account used by auto-approve and by control approvals without `email`. */
  defaultAccount: Schema.optionalKey(Schema.NonEmptyString),
  /** `false`: `POST /api/accounts/deviceauth/usercode` answers 404 (device login disabled). */
  deviceAuthEnabled: Schema.optionalKey(Schema.Boolean),
  /** Extra exact redirect URIs accepted besides the Codex loopback ones. */
  redirectUris: Schema.optionalKey(Schema.Array(Schema.NonEmptyString)),
  /** Accept `http://{localhost,127.0.0.1,[::1]}:<any port>/auth/callback` (tests only). */
  allowAnyLoopbackPort: Schema.optionalKey(Schema.Boolean),
  tokens: Schema.optionalKey(TokensInput),
  device: Schema.optionalKey(DeviceInput),
  clockOffsetSeconds: Schema.optionalKey(Schema.Finite),
  autoApprove: Schema.optionalKey(Schema.Boolean)
})
export type MockConfigInput = typeof MockConfigInput.Encoded

export interface Workspace {
  readonly id: string
  readonly name: string
  readonly plan: string
  readonly role: string
}

export interface Organization {
  readonly id: string
  readonly title: string
  readonly role: string
  readonly isDefault: boolean
}

export interface Account {
  readonly email: string
  readonly userId: string
  readonly name: string
  readonly plan: string
  readonly passwordOnly: boolean
  readonly mfa: boolean
  readonly codexEntitlement: boolean
  readonly deviceLogin: boolean
  readonly workspaces: ReadonlyArray<Workspace>
  readonly organizations: ReadonlyArray<Organization>
}

/** The resolved configuration: every value present. */
export interface MockConfig {
  readonly clientId: string
  readonly accounts: ReadonlyArray<Account>
  readonly defaultAccount: string
  readonly deviceAuthEnabled: boolean
  readonly redirectUris: ReadonlyArray<string>
  readonly allowAnyLoopbackPort: boolean
  readonly tokens: {
    readonly accessTokenTtlSeconds: number
    readonly idTokenTtlSeconds: number
    readonly refreshTokenTtlSeconds: number
    readonly authorizationCodeTtlSeconds: number
    readonly reuseGraceMs: number
  }
  readonly device: {
    readonly intervalSeconds: number
    readonly expirySeconds: number
  }
  readonly clockOffsetSeconds: number
  readonly autoApprove: boolean
}

const digest = (text: string): string => createHash("sha256").update(text).digest("hex")

/** A stable UUID-shaped id derived from a seed, so default ids survive restarts. */
const stableUuid = (seed: string): string => {
  const h = digest(seed)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

const DEFAULT_ACCOUNTS: ReadonlyArray<typeof AccountInput.Type> = [
  {
    email: "user@example.com",
    name: "Example User",
    plan: "plus",
    workspaces: [{ id: "11111111-1111-4111-8111-111111111111", name: "Personal" }]
  },
  {
    email: "team@example.com",
    name: "Team Member",
    plan: "team",
    workspaces: [
      { id: "22222222-2222-4222-8222-222222222222", name: "Acme Engineering", role: "member" },
      { id: "33333333-3333-4333-8333-333333333333", name: "Acme Research", plan: "enterprise", role: "admin" }
    ]
  }
]

const resolveAccount = (a: typeof AccountInput.Type): Account => {
  const plan = a.plan ?? "plus"
  const workspaces: ReadonlyArray<Workspace> = (a.workspaces ?? [{ id: stableUuid(`workspace:${a.email}`), name: "Personal" }]).map((w) => ({
    id: w.id,
    name: w.name,
    plan: w.plan ?? plan,
    role: w.role ?? "owner"
  }))
  return {
    email: a.email,
    userId: a.userId ?? `user-${digest(`user:${a.email}`).slice(0, 24)}`,
    name: a.name ?? a.email.split("@")[0] ?? a.email,
    plan,
    passwordOnly: a.passwordOnly ?? false,
    mfa: a.mfa ?? false,
    codexEntitlement: a.codexEntitlement ?? true,
    deviceLogin: a.deviceLogin ?? true,
    workspaces,
    organizations: (a.organizations ?? [{ id: `org-${digest(`org:${a.email}`).slice(0, 24)}`, title: "Personal", role: "owner", isDefault: true }]).map((o) => ({
      id: o.id,
      title: o.title,
      role: o.role ?? "owner",
      isDefault: o.isDefault ?? false
    }))
  }
}

/** Fills defaults into validated input. */
export const resolve = (input: typeof MockConfigInput.Type): MockConfig => {
  const accounts = (input.accounts ?? DEFAULT_ACCOUNTS).map(resolveAccount)
  return {
    clientId: input.clientId ?? CODEX_CLIENT_ID,
    accounts,
    defaultAccount: input.defaultAccount ?? accounts[0]!.email,
    deviceAuthEnabled: input.deviceAuthEnabled ?? true,
    redirectUris: input.redirectUris ?? [],
    allowAnyLoopbackPort: input.allowAnyLoopbackPort ?? false,
    tokens: {
      accessTokenTtlSeconds: input.tokens?.accessTokenTtlSeconds ?? 3600,
      idTokenTtlSeconds: input.tokens?.idTokenTtlSeconds ?? 3600,
      refreshTokenTtlSeconds: input.tokens?.refreshTokenTtlSeconds ?? 30 * 24 * 3600,
      authorizationCodeTtlSeconds: input.tokens?.authorizationCodeTtlSeconds ?? 60,
      reuseGraceMs: input.tokens?.reuseGraceMs ?? 2000
    },
    device: {
      intervalSeconds: input.device?.intervalSeconds ?? 5,
      expirySeconds: input.device?.expirySeconds ?? 15 * 60
    },
    clockOffsetSeconds: input.clockOffsetSeconds ?? 0,
    autoApprove: input.autoApprove ?? false
  }
}

/** The default configuration. */
export const defaults: MockConfig = resolve({})

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** Rewrites snake_case object keys to camelCase, recursively. */
export const normaliseKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(normaliseKeys)
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), normaliseKeys(v)]))
  }
  return value
}

const checkConsistency = (config: MockConfig, source: string): Result.Result<MockConfig, Errors.ConfigError> => {
  const seen = new Set<string>()
  for (const a of config.accounts) {
    if (seen.has(a.email)) return Result.fail(new Errors.ConfigError({ file: source, key: "accounts", detail: `duplicate account email ${a.email}` }))
    seen.add(a.email)
    if (a.workspaces.length === 0) {
      return Result.fail(new Errors.ConfigError({ file: source, key: "accounts.workspaces", detail: `account ${a.email} has no workspace` }))
    }
  }
  if (!seen.has(config.defaultAccount)) {
    return Result.fail(new Errors.ConfigError({ file: source, key: "defaultAccount", detail: `no account with email ${config.defaultAccount}` }))
  }
  return Result.succeed(config)
}

const decodeInput = Schema.decodeUnknownResult(MockConfigInput)

/**
 * Validates raw input (from a file or options) and resolves defaults. `source` names where the
 * input came from, for the error message.
 */
export const decode = (raw: unknown, source: string): Result.Result<MockConfig, Errors.ConfigError> => {
  const decoded = decodeInput(normaliseKeys(raw ?? {}), { onExcessProperty: "error", errors: "all" })
  if (Result.isFailure(decoded)) {
    return Result.fail(new Errors.ConfigError({ file: source, detail: decoded.failure.message.replace(/\n\s*/g, " ") }))
  }
  return checkConsistency(resolve(decoded.success), source)
}

/** Reads a `.json` or `.toml` mock configuration file. */
export const loadFile = Effect.fn("MockConfig.loadFile")(function*(path: string) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (cause) => new Errors.ConfigError({ file: path, detail: `cannot read the file (${(cause as NodeJS.ErrnoException).code ?? String(cause)})` })
  })
  const isToml = extname(path).toLowerCase() === ".toml"
  const raw = yield* Effect.try({
    try: () => (isToml ? parseToml(text) : (JSON.parse(text) as unknown)),
    catch: (cause) => new Errors.ConfigError({ file: path, detail: `not valid ${isToml ? "TOML" : "JSON"}: ${cause instanceof Error ? cause.message : String(cause)}` })
  })
  return yield* Effect.fromResult(decode(raw, path))
})

/** Finds an account by email (case-insensitive). */
export const findAccount = (config: MockConfig, email: string): Account | undefined =>
  config.accounts.find((a) => a.email.toLowerCase() === email.toLowerCase())

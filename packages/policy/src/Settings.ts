/**
 * The settings codex-auth owns in Codex configuration files, and their validation.
 *
 * `config.toml`-shaped files (`$CODEX_HOME/config.toml`, `-c` overrides, the managed
 * `/etc/codex/managed_config.toml`) may set:
 * - `forced_login_method = "chatgpt" | "api"`
 * - `forced_chatgpt_workspace_id = "id"` or `["id", …]` (an empty list allows no workspace)
 * - `cli_auth_credentials_store = "file" | "keyring" | "auto" | "ephemeral"`
 * - `allow_device_code_login = true | false` (a codex-auth extension)
 *
 * `requirements.toml` (newer Codex's admin constraints file) may set:
 * - `allowed_login_methods = ["chatgpt", "api"]`
 * - `allowed_chatgpt_workspaces = ["id", …]`
 * - `cli_auth_credentials_store`, `allow_device_code_login` (pins)
 *
 * Every other key is ignored: config.toml holds many unrelated Codex settings. A key we own with
 * an invalid value is a `ConfigError` naming the file, the line and the key: never a default.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import type { AuthPolicy, CredentialStore } from "@codex-auth/core"
import { Result } from "effect"
import { findKeyLine, type Override, OVERRIDE_FILE, type TomlTable } from "./TomlSource.ts"

export type LoginMethod = AuthPolicy.LoginMethod

/** `cli_auth_credentials_store` (core's one store-mode literal); `ephemeral` (memory, this process only) is accepted as newer Codex does. */
export type CredentialsStoreMode = CredentialStore.StoreMode

export const LOGIN_METHODS: ReadonlyArray<LoginMethod> = ["chatgpt", "api"]
// A record, so that a mode added to core's literal fails to compile here until it is listed.
const storeModes: Record<CredentialsStoreMode, true> = { file: true, keyring: true, auto: true, ephemeral: true }
export const STORE_MODES = Object.keys(storeModes) as ReadonlyArray<CredentialsStoreMode>

/** Values of a `config.toml`-shaped layer (user, `-c`, managed). Absent keys are unset. */
export interface ConfigValues {
  readonly forced_login_method?: LoginMethod
  /** Trimmed, de-duplicated; a single string becomes a one-element list. */
  readonly forced_chatgpt_workspace_id?: ReadonlyArray<string>
  readonly cli_auth_credentials_store?: CredentialsStoreMode
  readonly allow_device_code_login?: boolean
}

/** Values of a `requirements.toml` layer. */
export interface RequirementValues {
  readonly allowed_login_methods?: ReadonlyArray<LoginMethod>
  readonly allowed_chatgpt_workspaces?: ReadonlyArray<string>
  readonly cli_auth_credentials_store?: CredentialsStoreMode
  readonly allow_device_code_login?: boolean
}

export const CONFIG_KEYS = [
  "forced_login_method",
  "forced_chatgpt_workspace_id",
  "cli_auth_credentials_store",
  "allow_device_code_login"
] as const

export const REQUIREMENT_KEYS = [
  "allowed_login_methods",
  "allowed_chatgpt_workspaces",
  "cli_auth_credentials_store",
  "allow_device_code_login"
] as const

// ---------------------------------------------------------------------------------------------
// Type checks (hand-written rather than Schema: this module is on the CLI's startup path, and
// loading effect's Schema module costs more than every check here together)
// ---------------------------------------------------------------------------------------------

const isLoginMethod = (u: unknown): u is LoginMethod => (LOGIN_METHODS as ReadonlyArray<unknown>).includes(u)
const isStoreMode = (u: unknown): u is CredentialsStoreMode => (STORE_MODES as ReadonlyArray<unknown>).includes(u)
const isStringList = (u: unknown): u is ReadonlyArray<string> =>
  Array.isArray(u) && u.every((x) => typeof x === "string")
const isLoginMethodList = (u: unknown): u is ReadonlyArray<LoginMethod> => Array.isArray(u) && u.every(isLoginMethod)

/** A short description of a TOML value for messages (strings quoted and clipped). */
export const describeValue = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u.length > 80 ? `${u.slice(0, 80)}…` : u)
  if (typeof u === "number" || typeof u === "bigint") return `the number ${String(u)}`
  if (typeof u === "boolean") return `the boolean ${String(u)}`
  if (Array.isArray(u)) return `a list of ${u.length} item${u.length === 1 ? "" : "s"}`
  if (u instanceof Date) return "a date"
  if (typeof u === "object" && u !== null) return u.constructor?.name === "TomlDate" ? "a date" : "a table"
  return String(u)
}

const quoteList = (xs: ReadonlyArray<string>): string => {
  const q = xs.map((x) => `"${x}"`)
  return q.length <= 1 ? (q[0] ?? "") : `${q.slice(0, -1).join(", ")} or ${q[q.length - 1]}`
}

/** Validation failure for one key, before the file/line are attached. */
interface Invalid {
  readonly key: string
  readonly detail: string
}

type Check<A> = Result.Result<A, Invalid>

const invalid = (key: string, detail: string): Check<never> => Result.fail({ key, detail })

const checkLoginMethod = (key: string, u: unknown): Check<LoginMethod> =>
  isLoginMethod(u) ? Result.succeed(u) : invalid(key, `expected ${quoteList(LOGIN_METHODS)}, got ${describeValue(u)}`)

const checkStoreMode = (key: string, u: unknown): Check<CredentialsStoreMode> =>
  isStoreMode(u) ? Result.succeed(u) : invalid(key, `expected ${quoteList(STORE_MODES)}, got ${describeValue(u)}`)

const checkBoolean = (key: string, u: unknown): Check<boolean> =>
  typeof u === "boolean" ? Result.succeed(u) : invalid(key, `expected true or false, got ${describeValue(u)}`)

const normalizeIds = (key: string, ids: ReadonlyArray<string>, single: boolean): Check<ReadonlyArray<string>> => {
  const out: Array<string> = []
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!.trim()
    if (id.length === 0) {
      return invalid(
        key,
        single
          ? "the workspace ID is empty (remove the key to allow any workspace, or use [] to allow none)"
          : `item ${i + 1} of the list is an empty workspace ID`
      )
    }
    if (!out.includes(id)) out.push(id)
  }
  return Result.succeed(out)
}

/** `forced_chatgpt_workspace_id`: a string or a list of strings; a comma inside a string is refused, as Codex does. */
const checkWorkspaceIds = (key: string, u: unknown): Check<ReadonlyArray<string>> => {
  if (typeof u !== "string" && !isStringList(u)) {
    return invalid(key, `expected a workspace ID string or a list of workspace ID strings, got ${describeValue(u)}`)
  }
  const v = u
  if (typeof v === "string") {
    if (v.includes(",")) {
      return invalid(
        key,
        `comma-separated workspace IDs are not supported; use a TOML list such as ${key} = ["id-1", "id-2"]`
      )
    }
    return normalizeIds(key, [v], true)
  }
  return normalizeIds(key, v, false)
}

const checkWorkspaceList = (key: string, u: unknown): Check<ReadonlyArray<string>> =>
  isStringList(u)
    ? normalizeIds(key, u, false)
    : invalid(key, `expected a list of workspace ID strings, got ${describeValue(u)}`)

const checkLoginMethodList = (key: string, u: unknown): Check<ReadonlyArray<LoginMethod>> => {
  if (isLoginMethodList(u)) return Result.succeed([...new Set(u)])
  if (!Array.isArray(u)) return invalid(key, `expected a list of ${quoteList(LOGIN_METHODS)}, got ${describeValue(u)}`)
  const bad = u.find((x) => !isLoginMethod(x))
  return invalid(key, `expected a list of ${quoteList(LOGIN_METHODS)}, but it contains ${describeValue(bad)}`)
}

// ---------------------------------------------------------------------------------------------
// Layer validation
// ---------------------------------------------------------------------------------------------

type Checker = (key: string, u: unknown) => Check<unknown>

const CONFIG_CHECKERS: Record<(typeof CONFIG_KEYS)[number], Checker> = {
  forced_login_method: checkLoginMethod,
  forced_chatgpt_workspace_id: checkWorkspaceIds,
  cli_auth_credentials_store: checkStoreMode,
  allow_device_code_login: checkBoolean
}

const REQUIREMENT_CHECKERS: Record<(typeof REQUIREMENT_KEYS)[number], Checker> = {
  allowed_login_methods: checkLoginMethodList,
  allowed_chatgpt_workspaces: checkWorkspaceList,
  cli_auth_credentials_store: checkStoreMode,
  allow_device_code_login: checkBoolean
}

/** Where a table came from, to put the file and line in errors. */
export interface TableOrigin {
  /** The path shown to the user. */
  readonly file: string
  /** The document text, to find the line of an invalid key. */
  readonly text: string
}

const validate = <A>(
  table: TomlTable,
  origin: TableOrigin,
  checkers: Record<string, Checker>
): Result.Result<A, Errors.ConfigError> => {
  const out: Record<string, unknown> = {}
  for (const [key, check] of Object.entries(checkers)) {
    if (!Object.hasOwn(table, key)) continue
    const r = check(key, table[key])
    if (Result.isFailure(r)) {
      const line = findKeyLine(origin.text, [r.failure.key])
      return Result.fail(
        new Errors.ConfigError({
          file: origin.file,
          ...(line !== undefined ? { line } : {}),
          key: r.failure.key,
          detail: r.failure.detail
        })
      )
    }
    out[key] = r.success
  }
  return Result.succeed(out as A)
}

/** Validates the keys codex-auth owns in a `config.toml`-shaped table; other keys are ignored. */
export const validateConfigTable = (table: TomlTable, origin: TableOrigin): Result.Result<ConfigValues, Errors.ConfigError> =>
  validate<ConfigValues>(table, origin, CONFIG_CHECKERS)

/** Validates the keys codex-auth reads from `requirements.toml`; other keys are ignored. */
export const validateRequirementsTable = (
  table: TomlTable,
  origin: TableOrigin
): Result.Result<RequirementValues, Errors.ConfigError> => validate<RequirementValues>(table, origin, REQUIREMENT_CHECKERS)

/**
 * Validates `-c` overrides in order (a later override of the same key wins, as in Codex).
 * Overrides of other keys are ignored; `-c forced_login_method.x=…` makes our key a table, which
 * is reported as an invalid value.
 */
export const validateOverrides = (overrides: ReadonlyArray<Override>): Result.Result<ConfigValues, Errors.ConfigError> => {
  const out: Record<string, unknown> = {}
  for (const o of overrides) {
    const [head, ...rest] = o.path
    if (head === undefined || !Object.hasOwn(CONFIG_CHECKERS, head)) continue
    const check = CONFIG_CHECKERS[head as (typeof CONFIG_KEYS)[number]]
    const value = rest.length === 0 ? o.value : {}
    const r = check(head, value)
    if (Result.isFailure(r)) {
      return Result.fail(
        new Errors.ConfigError({
          file: OVERRIDE_FILE,
          key: head,
          detail: `${r.failure.detail} (in \`-c ${o.raw.length > 120 ? `${o.raw.slice(0, 120)}…` : o.raw}\`)`
        })
      )
    }
    out[head] = r.success
  }
  return Result.succeed(out as ConfigValues)
}

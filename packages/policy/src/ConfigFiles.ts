/**
 * The configuration files, read and resolved without the effect runtime: the synchronous core of
 * `CodexConfig` (which wraps it as a service and a layer). The CLI's lean path (`login status`,
 * `token`) uses it directly, so the same code decides what both paths see.
 *
 * Layers, highest precedence first (the same order as the Codex CLI): `requirements.toml`,
 * managed configuration, `-c key=value` overrides, the user's `$CODEX_HOME/config.toml`,
 * defaults; see `CodexConfig.ts` for the rules.
 *
 * @since 0.1.0
 */
import type { AuthPolicy } from "@codex-auth/core"
import { Errors } from "@codex-auth/core"
import { Result } from "effect"
import { lstatSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import {
  type ConfigValues,
  type CredentialsStoreMode,
  type LoginMethod,
  type RequirementValues,
  validateConfigTable,
  validateOverrides,
  validateRequirementsTable
} from "./Settings.ts"
import { parseDocument, parseOverride } from "./TomlSource.ts"

export type Sourced<A> = AuthPolicy.Sourced<A>

/** The default managed configuration file on Linux and macOS (Codex: `CODEX_MANAGED_CONFIG_SYSTEM_PATH`). */
export const MANAGED_CONFIG_PATH = "/etc/codex/managed_config.toml"
/** The default requirements file on Linux and macOS. */
export const REQUIREMENTS_PATH = "/etc/codex/requirements.toml"
/** Points the managed configuration elsewhere (tests), honoured only while `MANAGED_CONFIG_PATH` does not exist. */
export const MANAGED_CONFIG_PATH_ENV = "CODEX_MANAGED_CONFIG_PATH"
/** Points the requirements file elsewhere (tests), honoured only while `REQUIREMENTS_PATH` does not exist. */
export const REQUIREMENTS_PATH_ENV = "CODEX_REQUIREMENTS_PATH"

export type LayerKind = "requirements" | "managed" | "override" | "user" | "default"

/** The `source` text of a value from each layer: `managed: /etc/codex/managed_config.toml`, `override: -c`, … */
export const sourceLabel = (kind: LayerKind, path?: string): string =>
  kind === "default" ? "default" : kind === "override" ? "override: -c" : `${kind}: ${path ?? "?"}`

/** A configuration file that was consulted. */
export interface ConfigFile {
  readonly kind: "requirements" | "managed" | "user"
  readonly path: string
  readonly present: boolean
}

export interface CodexConfigShape {
  readonly codexHome: string
  /** The files consulted, highest precedence first. */
  readonly files: ReadonlyArray<ConfigFile>
  readonly forcedLoginMethod: Sourced<LoginMethod> | undefined
  /** From config layers (not intersected with requirements): see `Policy` for the effective list. */
  readonly forcedWorkspaceIds: Sourced<ReadonlyArray<string>> | undefined
  /** `requirements.toml` `allowed_login_methods`. */
  readonly allowedLoginMethods: Sourced<ReadonlyArray<LoginMethod>> | undefined
  /** `requirements.toml` `allowed_chatgpt_workspaces`. */
  readonly allowedWorkspaces: Sourced<ReadonlyArray<string>> | undefined
  readonly credentialsStore: Sourced<CredentialsStoreMode>
  readonly allowDeviceCodeLogin: Sourced<boolean>
  /** Things worth showing in `doctor` (e.g. an ignored path override). */
  readonly notes: ReadonlyArray<string>
}

/** The validated layers, as read from disk or given by a test. */
export interface Layers {
  readonly codexHome: string
  readonly requirements?: { readonly path: string; readonly values: RequirementValues | undefined }
  readonly managed?: { readonly path: string; readonly values: ConfigValues | undefined }
  readonly overrides?: ConfigValues
  readonly user?: { readonly path: string; readonly values: ConfigValues | undefined }
  readonly notes?: ReadonlyArray<string>
}

/** Combines validated layers into the resolved configuration (pure). */
export const resolveLayers = (layers: Layers): CodexConfigShape => {
  const userPath = layers.user?.path ?? join(layers.codexHome, "config.toml")
  const managedPath = layers.managed?.path ?? MANAGED_CONFIG_PATH
  const requirementsPath = layers.requirements?.path ?? REQUIREMENTS_PATH
  const configLayers: ReadonlyArray<readonly [string, ConfigValues | undefined]> = [
    [sourceLabel("managed", managedPath), layers.managed?.values],
    [sourceLabel("override"), layers.overrides],
    [sourceLabel("user", userPath), layers.user?.values]
  ]
  const req = layers.requirements?.values
  const reqSource = sourceLabel("requirements", requirementsPath)

  const pick = <K extends keyof ConfigValues>(key: K): Sourced<NonNullable<ConfigValues[K]>> | undefined => {
    for (const [source, values] of configLayers) {
      const v = values?.[key]
      if (v !== undefined) return { value: v as NonNullable<ConfigValues[K]>, source }
    }
    return undefined
  }
  const pinned = <K extends "cli_auth_credentials_store" | "allow_device_code_login">(
    key: K
  ): Sourced<NonNullable<RequirementValues[K]>> | undefined => {
    const v = req?.[key]
    return v !== undefined ? { value: v as NonNullable<RequirementValues[K]>, source: reqSource } : pick(key)
  }

  return {
    codexHome: layers.codexHome,
    files: [
      { kind: "requirements", path: requirementsPath, present: req !== undefined },
      { kind: "managed", path: managedPath, present: layers.managed?.values !== undefined },
      { kind: "user", path: userPath, present: layers.user?.values !== undefined }
    ],
    forcedLoginMethod: pick("forced_login_method"),
    forcedWorkspaceIds: pick("forced_chatgpt_workspace_id"),
    allowedLoginMethods: req?.allowed_login_methods !== undefined ? { value: req.allowed_login_methods, source: reqSource } : undefined,
    allowedWorkspaces: req?.allowed_chatgpt_workspaces !== undefined
      ? { value: req.allowed_chatgpt_workspaces, source: reqSource }
      : undefined,
    credentialsStore: pinned("cli_auth_credentials_store") ?? { value: "file", source: "default" },
    allowDeviceCodeLogin: pinned("allow_device_code_login") ?? { value: true, source: "default" },
    notes: layers.notes ?? []
  }
}

// ---------------------------------------------------------------------------------------------
// Reading files (synchronously: these are small local files, and `fs/promises` would load that
// module and start libuv's thread pool on every start)
// ---------------------------------------------------------------------------------------------

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

/** File text, or `undefined` when it does not exist. */
const readOptional = (path: string): Result.Result<string | undefined, Errors.ConfigError> => {
  try {
    return Result.succeed(readFileSync(path, "utf8"))
  } catch (e) {
    const code = errnoOf(e)
    if (code === "ENOENT" || code === "ENOTDIR") return Result.succeed(undefined)
    return Result.fail(
      new Errors.ConfigError({
        file: path,
        detail: `the file cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`
      })
    )
  }
}

const exists = (path: string): boolean => {
  try {
    lstatSync(path)
    return true
  } catch (e) {
    return errnoOf(e) !== "ENOENT" && errnoOf(e) !== "ENOTDIR"
  }
}

const loadFile = <A>(
  path: string,
  validate: (table: Record<string, unknown>, at: { readonly file: string; readonly text: string }) => Result.Result<A, Errors.ConfigError>
): Result.Result<A | undefined, Errors.ConfigError> => {
  const text = readOptional(path)
  if (Result.isFailure(text)) return Result.fail(text.failure)
  if (text.success === undefined) return Result.succeed(undefined)
  const table = parseDocument(text.success, path)
  return Result.isFailure(table) ? Result.fail(table.failure) : validate(table.success, { file: path, text: text.success })
}

/**
 * Chooses the system file or the test override `fromEnv` (the value of the environment variable
 * `envName`, unset or empty: `undefined`). The override is ignored (with a note) when the system
 * file exists, so an installed policy cannot be bypassed by pointing the variable at a file of
 * one's own.
 */
export const chooseSystemPath = (
  systemDefault: string,
  envName: string,
  fromEnv: string | undefined
): { readonly path: string; readonly note: string | undefined } => {
  if (fromEnv === undefined) return { path: systemDefault, note: undefined }
  const wanted = resolve(fromEnv)
  if (wanted === systemDefault) return { path: systemDefault, note: undefined }
  if (exists(systemDefault)) {
    return {
      path: systemDefault,
      note: `${envName}=${fromEnv} was ignored: ${systemDefault} is installed and always applies`
    }
  }
  return { path: wanted, note: undefined }
}

export interface LoadOptions {
  /** The CODEX_HOME directory (absolute); `config.toml` is read from it. */
  readonly codexHome: string
  /** Raw `-c key=value` arguments, in command-line order. */
  readonly overrides?: ReadonlyArray<string>
  /** Reads managed configuration from exactly this file (no system-file guard): for tests and embedders. */
  readonly managedConfigPath?: string
  /** Reads requirements from exactly this file (no system-file guard): for tests and embedders. */
  readonly requirementsPath?: string
}

/**
 * Reads, validates and resolves every layer. `env` gives the variables `CODEX_MANAGED_CONFIG_PATH`
 * and `CODEX_REQUIREMENTS_PATH` (`undefined` when unset or empty).
 */
export const loadSync = (
  options: LoadOptions,
  env: (name: string) => string | undefined
): Result.Result<CodexConfigShape, Errors.ConfigError> => {
  const notes: Array<string> = []
  const managed = options.managedConfigPath !== undefined
    ? { path: resolve(options.managedConfigPath), note: undefined }
    : chooseSystemPath(MANAGED_CONFIG_PATH, MANAGED_CONFIG_PATH_ENV, env(MANAGED_CONFIG_PATH_ENV))
  const requirements = options.requirementsPath !== undefined
    ? { path: resolve(options.requirementsPath), note: undefined }
    : chooseSystemPath(REQUIREMENTS_PATH, REQUIREMENTS_PATH_ENV, env(REQUIREMENTS_PATH_ENV))
  if (managed.note !== undefined) notes.push(managed.note)
  if (requirements.note !== undefined) notes.push(requirements.note)

  const overrides = []
  for (const raw of options.overrides ?? []) {
    const parsed = parseOverride(raw)
    if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
    overrides.push(parsed.success)
  }

  const codexHome = resolve(options.codexHome)
  const userPath = join(codexHome, "config.toml")
  const requirementValues = loadFile(requirements.path, validateRequirementsTable)
  if (Result.isFailure(requirementValues)) return Result.fail(requirementValues.failure)
  const managedValues = loadFile(managed.path, validateConfigTable)
  if (Result.isFailure(managedValues)) return Result.fail(managedValues.failure)
  const userValues = loadFile(userPath, validateConfigTable)
  if (Result.isFailure(userValues)) return Result.fail(userValues.failure)
  const overrideValues = validateOverrides(overrides)
  if (Result.isFailure(overrideValues)) return Result.fail(overrideValues.failure)
  return Result.succeed(resolveLayers({
    codexHome,
    requirements: { path: requirements.path, values: requirementValues.success },
    managed: { path: managed.path, values: managedValues.success },
    overrides: overrideValues.success,
    user: { path: userPath, values: userValues.success },
    notes
  }))
}

/**
 * The credential store for this run: requirements.toml and managed configuration pin it; below
 * them a `--store` flag wins over `-c` and the user's config.toml. `ephemeral` (Codex's
 * memory-only mode) is passed through for the caller to map to a memory store.
 */
export const effectiveStoreMode = (
  config: CodexConfigShape,
  flag: CredentialsStoreMode | undefined
): Sourced<CredentialsStoreMode> => {
  const s = config.credentialsStore
  if (s.source.startsWith("requirements: ") || s.source.startsWith("managed: ")) return s
  return flag !== undefined ? { value: flag, source: "--store" } : s
}

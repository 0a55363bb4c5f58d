/**
 * The resolved codex-auth configuration: every setting we own, with the layer it came from.
 *
 * Layers, highest precedence first (the same order as the Codex CLI):
 * 1. `requirements.toml` (`/etc/codex/requirements.toml`): admin constraints. Its allow-lists
 *    (`allowed_login_methods`, `allowed_chatgpt_workspaces`) narrow whatever the other layers say;
 *    its `cli_auth_credentials_store` / `allow_device_code_login` pin the value.
 * 2. managed configuration (`/etc/codex/managed_config.toml`): wins over everything below.
 * 3. `-c key=value` overrides (value parsed as TOML, else a string), later ones winning.
 * 4. the user's `$CODEX_HOME/config.toml`.
 * 5. defaults.
 *
 * A missing file is an empty layer. An unreadable or malformed file, or an invalid value for a key
 * we own, fails the layer with a `ConfigError` naming the file, line and key.
 *
 * For tests, `CODEX_MANAGED_CONFIG_PATH` / `CODEX_REQUIREMENTS_PATH` point at other files, but only
 * while the system file does not exist: on a machine where an administrator installed
 * `/etc/codex/managed_config.toml`, a user cannot swap it for a file of their own.
 *
 * @since 0.1.0
 */
import { Env, Errors } from "@codex-auth/core"
import type { AuthPolicy } from "@codex-auth/core"
import { Context, Effect, Layer, Result } from "effect"
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

export class CodexConfig extends Context.Service<CodexConfig, CodexConfigShape>()("@codex-auth/policy/CodexConfig") {}

// ---------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

/**
 * File text, or `undefined` when it does not exist. Read synchronously: these are small local
 * files, and `fs/promises` would load that module and start libuv's thread pool on every start.
 */
const readOptional = (path: string): Effect.Effect<string | undefined, Errors.ConfigError> =>
  Effect.try({
    try: () => readFileSync(path, "utf8"),
    catch: (e) => e
  }).pipe(
    Effect.catch((e) => {
      const code = errnoOf(e)
      if (code === "ENOENT" || code === "ENOTDIR") return Effect.succeed(undefined)
      return Effect.fail(
        new Errors.ConfigError({
          file: path,
          detail: `the file cannot be read (${code ?? (e instanceof Error ? e.message : String(e))})`
        })
      )
    })
  )

const exists = (path: string): Effect.Effect<boolean> =>
  Effect.sync(() => {
    try {
      lstatSync(path)
      return true
    } catch (e) {
      return errnoOf(e) !== "ENOENT" && errnoOf(e) !== "ENOTDIR"
    }
  })

const fromResult = <A, E>(r: Result.Result<A, E>): Effect.Effect<A, E> =>
  Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(r.failure)

const loadConfigFile = (path: string) =>
  Effect.gen(function*() {
    const text = yield* readOptional(path)
    if (text === undefined) return undefined
    const table = yield* fromResult(parseDocument(text, path))
    return yield* fromResult(validateConfigTable(table, { file: path, text }))
  })

const loadRequirementsFile = (path: string) =>
  Effect.gen(function*() {
    const text = yield* readOptional(path)
    if (text === undefined) return undefined
    const table = yield* fromResult(parseDocument(text, path))
    return yield* fromResult(validateRequirementsTable(table, { file: path, text }))
  })

/**
 * Chooses the system file or the test override from the environment variable `envName`. The
 * override is ignored (with a note) when the system file exists, so an installed policy cannot be
 * bypassed by pointing the variable at a file of one's own.
 */
export const resolveSystemPath = (
  systemDefault: string,
  envName: string
): Effect.Effect<{ readonly path: string; readonly note: string | undefined }> =>
  Effect.gen(function*() {
    const fromEnv = yield* Env.envString(envName)
    if (fromEnv === undefined) return { path: systemDefault, note: undefined }
    const wanted = resolve(fromEnv)
    if (wanted === systemDefault) return { path: systemDefault, note: undefined }
    if (yield* exists(systemDefault)) {
      return {
        path: systemDefault,
        note: `${envName}=${fromEnv} was ignored: ${systemDefault} is installed and always applies`
      }
    }
    return { path: wanted, note: undefined }
  })

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

/** Reads, validates and resolves every layer. */
export const load = Effect.fn("CodexConfig.load")(function*(options: LoadOptions) {
  const notes: Array<string> = []
  const managed = options.managedConfigPath !== undefined
    ? { path: resolve(options.managedConfigPath), note: undefined }
    : yield* resolveSystemPath(MANAGED_CONFIG_PATH, MANAGED_CONFIG_PATH_ENV)
  const requirements = options.requirementsPath !== undefined
    ? { path: resolve(options.requirementsPath), note: undefined }
    : yield* resolveSystemPath(REQUIREMENTS_PATH, REQUIREMENTS_PATH_ENV)
  if (managed.note !== undefined) notes.push(managed.note)
  if (requirements.note !== undefined) notes.push(requirements.note)

  const overrides = []
  for (const raw of options.overrides ?? []) overrides.push(yield* fromResult(parseOverride(raw)))

  const codexHome = resolve(options.codexHome)
  const userPath = join(codexHome, "config.toml")
  const [requirementValues, managedValues, userValues] = yield* Effect.all(
    [loadRequirementsFile(requirements.path), loadConfigFile(managed.path), loadConfigFile(userPath)],
    { concurrency: "unbounded" }
  )
  const overrideValues = yield* fromResult(validateOverrides(overrides))
  return resolveLayers({
    codexHome,
    requirements: { path: requirements.path, values: requirementValues },
    managed: { path: managed.path, values: managedValues },
    overrides: overrideValues,
    user: { path: userPath, values: userValues },
    notes
  })
})

/** `CodexConfig` read from disk: `$CODEX_HOME/config.toml`, `-c` overrides, managed config, requirements. */
export const layer = (options: LoadOptions): Layer.Layer<CodexConfig, Errors.ConfigError> =>
  Layer.effect(CodexConfig, Effect.map(load(options), (c) => CodexConfig.of(c)))

/** `CodexConfig` from in-memory layers, for tests. Paths default to the real ones. */
export const layerFromValues = (layers: Partial<Layers> = {}): Layer.Layer<CodexConfig> =>
  Layer.succeed(CodexConfig, CodexConfig.of(resolveLayers({ codexHome: "/nonexistent/.codex", ...layers })))

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

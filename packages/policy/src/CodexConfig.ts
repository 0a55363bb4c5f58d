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
 * The reading and resolving itself is `ConfigFiles.ts`, which needs no effect runtime (the CLI's
 * lean path uses it directly); this module makes it a service and a layer.
 *
 * @since 0.1.0
 */
import { Env, type Errors } from "@codex-auth/core"
import { Context, Effect, Layer, Result } from "effect"
import { chooseSystemPath, type CodexConfigShape, type Layers, type LoadOptions, loadSync, MANAGED_CONFIG_PATH_ENV, REQUIREMENTS_PATH_ENV, resolveLayers } from "./ConfigFiles.ts"

// What callers of the service use; the rest of the file layer's API is in ConfigFiles.
export {
  type CodexConfigShape,
  effectiveStoreMode,
  type Layers,
  type LoadOptions,
  MANAGED_CONFIG_PATH,
  REQUIREMENTS_PATH,
  resolveLayers,
  type Sourced
} from "./ConfigFiles.ts"

export class CodexConfig extends Context.Service<CodexConfig, CodexConfigShape>()("@codex-auth/policy/CodexConfig") {}

/**
 * Chooses the system file or the test override from the environment variable `envName` (read
 * through the current `ConfigProvider`). The override is ignored (with a note) when the system
 * file exists, so an installed policy cannot be bypassed by pointing the variable at a file of
 * one's own.
 */
export const resolveSystemPath = (
  systemDefault: string,
  envName: string
): Effect.Effect<{ readonly path: string; readonly note: string | undefined }> =>
  Effect.map(Env.envString(envName), (fromEnv) => chooseSystemPath(systemDefault, envName, fromEnv))

/** Reads, validates and resolves every layer (environment variables through the current `ConfigProvider`). */
export const load = Effect.fn("CodexConfig.load")(function*(options: LoadOptions) {
  const env: Record<string, string | undefined> = {
    [MANAGED_CONFIG_PATH_ENV]: yield* Env.envString(MANAGED_CONFIG_PATH_ENV),
    [REQUIREMENTS_PATH_ENV]: yield* Env.envString(REQUIREMENTS_PATH_ENV)
  }
  const config = loadSync(options, (name) => env[name])
  return Result.isSuccess(config) ? config.success : yield* Effect.fail(config.failure)
})

/** `CodexConfig` read from disk: `$CODEX_HOME/config.toml`, `-c` overrides, managed config, requirements. */
export const layer = (options: LoadOptions): Layer.Layer<CodexConfig, Errors.ConfigError> =>
  Layer.effect(CodexConfig, Effect.map(load(options), (c) => CodexConfig.of(c)))

/** `CodexConfig` from in-memory layers, for tests. Paths default to the real ones. */
export const layerFromValues = (layers: Partial<Layers> = {}): Layer.Layer<CodexConfig> =>
  Layer.succeed(CodexConfig, CodexConfig.of(resolveLayers({ codexHome: "/nonexistent/.codex", ...layers })))


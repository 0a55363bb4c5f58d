/**
 * The login policy, built once from `CodexConfig` and used everywhere through the core
 * `AuthPolicy` port: at login (refuse a disallowed method before any flow starts, refuse to persist
 * tokens from a workspace that is not allowed), at every start (`enforceAtStartup` logs out stored
 * credentials that break the policy), and in `login status --json` / `doctor` (`describePolicy`).
 *
 * Rules, each reported by its key and the file it came from:
 * - `forced_login_method` (config layers): only that method.
 * - `allowed_login_methods` (requirements.toml): only the listed methods.
 * - `forced_chatgpt_workspace_id` (config layers) and `allowed_chatgpt_workspaces`
 *   (requirements.toml): a ChatGPT login must belong to a listed workspace (the ID token's
 *   `chatgpt_account_id`); with both, to one in both lists. An empty list allows none, and then
 *   ChatGPT login is refused outright.
 * - `allow_device_code_login = false`: device-code login is refused.
 *
 * @since 0.1.0
 */
import {
  type AuthDotJson,
  AuthPolicy,
  CredentialStore,
  Env,
  type Errors,
  PolicyEnforcement
} from "@codex-auth/core"
import { Effect, Layer } from "effect"
import { CodexConfig, type CodexConfigShape, layer as configLayer, type LoadOptions, type Sourced } from "./CodexConfig.ts"
import {
  allowedWorkspaceId,
  credentialsViolation,
  decisions,
  describePolicy,
  emptyWorkspaceViolation,
  type PolicyDescription,
  violation
} from "./Rules.ts"
import type { LoginMethod } from "./Settings.ts"

export { describePolicy, type PolicyDescription }

type AuthPolicyShape = AuthPolicy.AuthPolicyShape

const orVoid = (v: Errors.PolicyViolation | undefined): Effect.Effect<void, Errors.PolicyViolation> =>
  v === undefined ? Effect.void : Effect.fail(v)

/** Builds the `AuthPolicy` implementation from a resolved configuration. */
export const make = (config: CodexConfigShape): AuthPolicyShape => {
  const d = decisions(config)
  const forcedLoginMethod: Sourced<LoginMethod> | undefined = config.forcedLoginMethod ??
    (config.allowedLoginMethods !== undefined && config.allowedLoginMethods.value.length === 1
      ? { value: config.allowedLoginMethods.value[0]!, source: config.allowedLoginMethods.source }
      : undefined)

  const checkLogin = (method: LoginMethod | "device") => {
    const base: LoginMethod = method === "device" ? "chatgpt" : method
    const v = d.methodViolation(base) ?? (base === "chatgpt" ? emptyWorkspaceViolation(d) : undefined)
    if (v !== undefined) return Effect.fail(v)
    if (method === "device" && !config.allowDeviceCodeLogin.value) {
      return Effect.fail(violation(
        "allow_device_code_login",
        config.allowDeviceCodeLogin.source,
        "device-code login is disabled; sign in with the browser (`codex-auth login`) instead"
      ))
    }
    return Effect.void
  }

  const checkCredentials = (doc: AuthDotJson.AuthDocument) => orVoid(credentialsViolation(d, doc))

  return AuthPolicy.AuthPolicy.of({
    forcedLoginMethod,
    forcedWorkspaceIds: d.effectiveWorkspaces,
    deviceAuthAllowed: config.allowDeviceCodeLogin,
    checkLogin,
    checkCredentials
  })
}

/** The `AuthPolicy` built from `CodexConfig`. */
export const layer: Layer.Layer<AuthPolicy.AuthPolicy, never, CodexConfig> = Layer.effect(
  AuthPolicy.AuthPolicy,
  Effect.map(Effect.service(CodexConfig), make)
)

/** `AuthPolicy` and `CodexConfig` read from disk in one layer (see `CodexConfig.layer`). */
export const layerFromFiles = (
  options: LoadOptions
): Layer.Layer<AuthPolicy.AuthPolicy | CodexConfig, Errors.ConfigError> =>
  layer.pipe(Layer.provideMerge(configLayer(options)))

/**
 * The `allowed_workspace_id` authorize parameter: the allowed workspace IDs joined with commas,
 * as Codex sends them, or `undefined` when any workspace is allowed (or none is: the login is
 * refused by `checkLogin` before a URL is built).
 */
export const allowedWorkspaceParam = (policy: AuthPolicyShape): string | undefined =>
  allowedWorkspaceId(policy.forcedWorkspaceIds?.value)

/** `CODEX_API_KEY` and `CODEX_ACCESS_TOKEN` (trimmed; unset or blank is `undefined`) from the current `ConfigProvider`. */
const environmentCredentials = Effect.all({
  apiKey: Env.envString("CODEX_API_KEY", { trim: true }),
  accessToken: Env.envString("CODEX_ACCESS_TOKEN", { trim: true })
})

/**
 * Checks credentials supplied by the environment (`CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`) against
 * the policy. Nothing is stored, so nothing is logged out: the process must refuse to run.
 */
export const checkEnvironment: Effect.Effect<void, Errors.PolicyViolation, AuthPolicy.AuthPolicy> = Effect.gen(function*() {
  return yield* PolicyEnforcement.checkEnvironment(yield* AuthPolicy.AuthPolicy, yield* environmentCredentials)
})

/**
 * Run at every start of the CLI and the worker (the library's AuthManager runs the same
 * `PolicyEnforcement.enforceAtStartup` of core): stored credentials that break the policy are
 * purged from every store and the run fails with `PolicyViolation({ loggedOut: true })` (exit code
 * 4); credentials from the environment that break it fail the run too. See
 * `PolicyEnforcement.enforceAtStartup`.
 */
export const enforceAtStartup: Effect.Effect<
  void,
  Errors.PolicyViolation | Errors.StorageError,
  CredentialStore.CredentialStore | AuthPolicy.AuthPolicy
> = Effect.gen(function*() {
  return yield* PolicyEnforcement.enforceAtStartup(
    yield* CredentialStore.CredentialStore,
    yield* AuthPolicy.AuthPolicy,
    yield* environmentCredentials
  )
}).pipe(Effect.withSpan("Policy.enforceAtStartup"))

/** `describePolicy` for the `CodexConfig` in context. */
export const describe: Effect.Effect<PolicyDescription, never, CodexConfig> = Effect.map(
  Effect.service(CodexConfig),
  describePolicy
)

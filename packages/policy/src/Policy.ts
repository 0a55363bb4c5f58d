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
  AuthDotJson,
  AuthPolicy,
  CredentialStore,
  Env,
  Errors
} from "@codex-auth/core"
import { Effect, Layer, Option, Redacted, Result } from "effect"
import { CodexConfig, type CodexConfigShape, layer as configLayer, type LoadOptions, type Sourced } from "./CodexConfig.ts"
import {
  credentialsViolation,
  decisions,
  type Decisions,
  type DescribedValue,
  describePolicy,
  emptyWorkspaceViolation,
  type PolicyDescription,
  violation
} from "./Rules.ts"
import type { LoginMethod } from "./Settings.ts"

export { credentialsViolation, decisions, type Decisions, type DescribedValue, describePolicy, type PolicyDescription }

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
export const allowedWorkspaceParam = (policy: AuthPolicyShape): string | undefined => {
  const ids = policy.forcedWorkspaceIds?.value
  return ids === undefined || ids.length === 0 ? undefined : ids.join(",")
}

const purgeAndFail = Effect.fnUntraced(function*(store: CredentialStore.CredentialStoreShape, v: Errors.PolicyViolation) {
  const removed = yield* Effect.result(store.remove)
  if (Result.isFailure(removed)) {
    return yield* new Errors.PolicyViolation({
      rule: v.rule,
      source: v.source,
      detail: `${v.detail}; the stored credentials could not be removed (${removed.failure.userMessage})`,
      loggedOut: false
    })
  }
  const failed = removed.success.failed
  return yield* new Errors.PolicyViolation({
    rule: v.rule,
    source: v.source,
    detail: failed.length === 0
      ? v.detail
      : `${v.detail}; could not remove ${failed.map((f) => `${f.location} (${f.detail})`).join(", ")}`,
    loggedOut: true
  })
})

const envViolation = (name: string, v: Errors.PolicyViolation) =>
  new Errors.PolicyViolation({
    rule: v.rule,
    source: v.source,
    detail: `${name} is set in the environment: ${v.detail}; unset ${name}`,
    loggedOut: false
  })

/**
 * Checks credentials supplied by the environment (`CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`) against
 * the policy. Nothing is stored, so nothing is logged out: the process must refuse to run.
 */
export const checkEnvironment: Effect.Effect<void, Errors.PolicyViolation, AuthPolicy.AuthPolicy> = Effect.gen(function*() {
  const policy = yield* AuthPolicy.AuthPolicy
  const apiKey = yield* Env.envString("CODEX_API_KEY", { trim: true })
  if (apiKey !== undefined) {
    yield* policy.checkCredentials(AuthDotJson.fromApiKey(Redacted.make(apiKey))).pipe(
      Effect.mapError((v) => envViolation("CODEX_API_KEY", v))
    )
  }
  const accessToken = yield* Env.envString("CODEX_ACCESS_TOKEN", { trim: true })
  if (accessToken !== undefined) {
    // The access token carries the same `https://api.openai.com/auth` claims as the ID token.
    const token = Redacted.make(accessToken)
    const doc: AuthDotJson.AuthDocument = {
      authMode: "chatgpt",
      apiKey: undefined,
      tokens: { idToken: token, accessToken: token, refreshToken: Redacted.make(""), accountId: undefined, extra: {} },
      lastRefresh: undefined,
      extra: {}
    }
    yield* policy.checkCredentials(doc).pipe(Effect.mapError((v) => envViolation("CODEX_ACCESS_TOKEN", v)))
  }
})

/**
 * Run at every start of the CLI, the worker and the library's AuthManager. Loads the stored
 * credentials; if they break the policy, purges every store (under the credential lock, after
 * re-reading, so a compliant login made meanwhile by another process is kept) and fails with
 * `PolicyViolation({ loggedOut: true })` (exit code 4). Then checks credentials from the
 * environment (`checkEnvironment`). Succeeds when nothing is stored or everything complies.
 *
 * Unreadable stored credentials (`CorruptCredentials`) cannot authenticate anything and are left
 * to the normal load path to report; a store that cannot be read at all fails with `StorageError`.
 */
export const enforceAtStartup: Effect.Effect<
  void,
  Errors.PolicyViolation | Errors.StorageError,
  CredentialStore.CredentialStore | AuthPolicy.AuthPolicy
> = Effect.gen(function*() {
  const store = yield* CredentialStore.CredentialStore
  const policy = yield* AuthPolicy.AuthPolicy
  const loadChecked = store.load.pipe(
    Effect.catchTag("CorruptCredentials", () => Effect.succeed(Option.none<AuthDotJson.AuthDocument>())),
    Effect.flatMap((doc) => Option.isNone(doc) ? Effect.void : policy.checkCredentials(doc.value))
  )
  const first = yield* Effect.result(loadChecked)
  if (Result.isFailure(first)) {
    if (first.failure._tag === "StorageError") return yield* first.failure
    // Re-check under the lock: only purge what is stored now and still violates the policy.
    yield* store.withLock(
      Effect.gen(function*() {
        const again = yield* Effect.result(loadChecked)
        if (Result.isSuccess(again)) return
        if (again.failure._tag === "StorageError") return yield* again.failure
        return yield* purgeAndFail(store, again.failure)
      })
    )
  }
  yield* checkEnvironment
}).pipe(Effect.withSpan("Policy.enforceAtStartup"))

/** `describePolicy` for the `CodexConfig` in context. */
export const describe: Effect.Effect<PolicyDescription, never, CodexConfig> = Effect.map(
  Effect.service(CodexConfig),
  describePolicy
)

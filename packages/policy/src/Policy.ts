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
import type { LoginMethod } from "./Settings.ts"

type AuthPolicyShape = AuthPolicy.AuthPolicyShape

const METHOD_NAME: Record<LoginMethod, string> = { chatgpt: "ChatGPT login", api: "API key login" }
const CREDENTIALS_NAME: Record<LoginMethod, string> = { chatgpt: "ChatGPT credentials", api: "API key credentials" }
const METHOD_HOWTO: Record<LoginMethod, string> = {
  chatgpt: "sign in with ChatGPT (`codex-auth login`)",
  api: "use an API key (`printenv OPENAI_API_KEY | codex-auth login --with-api-key`)"
}

/** A workspace allow-list and the rule that set it. */
interface WorkspaceRule {
  readonly rule: "forced_chatgpt_workspace_id" | "allowed_chatgpt_workspaces"
  readonly ids: ReadonlyArray<string>
  readonly source: string
}

const listText = (ids: ReadonlyArray<string>): string => ids.join(", ")

const violation = (rule: string, source: string, detail: string) =>
  new Errors.PolicyViolation({ rule, source, detail, loggedOut: false })

/** The policy's pure decisions, shared by the `AuthPolicy` implementation and `describePolicy`. */
export interface Decisions {
  /**
   * Why `method` may not be used at all (method rules only), or `undefined`. `credentials` words
   * the message about credentials that exist rather than a login about to start.
   */
  readonly methodViolation: (method: LoginMethod, credentials?: boolean) => Errors.PolicyViolation | undefined
  /** The workspace rules in force (config first, then requirements). */
  readonly workspaceRules: ReadonlyArray<WorkspaceRule>
  /** The intersection of every workspace list; `undefined` when any workspace is allowed. */
  readonly effectiveWorkspaces: Sourced<ReadonlyArray<string>> | undefined
  /** The methods that can actually be used (ChatGPT needs at least one allowed workspace). */
  readonly usableMethods: ReadonlyArray<LoginMethod>
}

export const decisions = (config: CodexConfigShape): Decisions => {
  const forced = config.forcedLoginMethod
  const allowed = config.allowedLoginMethods
  const workspaceRules: Array<WorkspaceRule> = []
  if (config.forcedWorkspaceIds !== undefined) {
    workspaceRules.push({ rule: "forced_chatgpt_workspace_id", ids: config.forcedWorkspaceIds.value, source: config.forcedWorkspaceIds.source })
  }
  if (config.allowedWorkspaces !== undefined) {
    workspaceRules.push({ rule: "allowed_chatgpt_workspaces", ids: config.allowedWorkspaces.value, source: config.allowedWorkspaces.source })
  }
  const effectiveWorkspaces: Sourced<ReadonlyArray<string>> | undefined = workspaceRules.length === 0
    ? undefined
    : {
      value: workspaceRules.slice(1).reduce<ReadonlyArray<string>>(
        (acc, r) => acc.filter((id) => r.ids.includes(id)),
        workspaceRules[0]!.ids
      ),
      source: workspaceRules.map((r) => r.source).join(" and ")
    }

  const methodBlocked = (m: LoginMethod): { rule: string; source: string } | undefined => {
    if (forced !== undefined && forced.value !== m) return { rule: "forced_login_method", source: forced.source }
    if (allowed !== undefined && !allowed.value.includes(m)) return { rule: "allowed_login_methods", source: allowed.source }
    return undefined
  }
  const usableMethods = (["chatgpt", "api"] as const).filter((m) =>
    methodBlocked(m) === undefined && (m !== "chatgpt" || effectiveWorkspaces === undefined || effectiveWorkspaces.value.length > 0)
  )
  const alternative = (m: LoginMethod): string => {
    const others = usableMethods.filter((o) => o !== m)
    return others.length === 0
      ? "no login method is allowed by the current policy"
      : `${others.map((o) => METHOD_HOWTO[o]).join(" or ")} instead`
  }
  const methodViolation = (m: LoginMethod, credentials = false) => {
    const blocked = methodBlocked(m)
    if (blocked === undefined) return undefined
    const what = credentials ? `${CREDENTIALS_NAME[m]} are not allowed (${METHOD_NAME[m]} is disabled)` : `${METHOD_NAME[m]} is not allowed`
    return violation(blocked.rule, blocked.source, `${what}; ${alternative(m)}`)
  }
  return { methodViolation, workspaceRules, effectiveWorkspaces, usableMethods }
}

/** The violation for "ChatGPT login is impossible because no workspace is allowed", if so. */
const emptyWorkspaceViolation = (d: Decisions): Errors.PolicyViolation | undefined => {
  if (d.effectiveWorkspaces === undefined || d.effectiveWorkspaces.value.length > 0) return undefined
  const empty = d.workspaceRules.find((r) => r.ids.length === 0)
  const apiUsable = d.usableMethods.includes("api")
  const tail = apiUsable ? `; ${METHOD_HOWTO.api} instead` : ""
  if (empty !== undefined) {
    return violation(empty.rule, empty.source, `ChatGPT login is not allowed: the workspace list is empty, so no workspace is allowed${tail}`)
  }
  return violation(
    "forced_chatgpt_workspace_id",
    d.effectiveWorkspaces.source,
    `ChatGPT login is not allowed: forced_chatgpt_workspace_id (${listText(d.workspaceRules[0]!.ids)}) and allowed_chatgpt_workspaces (${
      listText(d.workspaceRules[1]?.ids ?? [])
    }) have no workspace in common${tail}`
  )
}

/** Checks the workspace of ChatGPT credentials against every workspace rule. */
const workspaceViolation = (d: Decisions, doc: AuthDotJson.AuthDocument): Errors.PolicyViolation | undefined => {
  if (d.workspaceRules.length === 0) return undefined
  const claims = AuthDotJson.claimsOf(doc)
  const accountId = claims?.accountId
  for (const r of d.workspaceRules) {
    if (r.ids.length === 0) {
      return violation(r.rule, r.source, "The ChatGPT credentials are not allowed: the workspace list is empty, so no workspace is allowed")
    }
    if (accountId === undefined) {
      return violation(
        r.rule,
        r.source,
        `The ChatGPT credentials cannot be checked against the allowed workspace${r.ids.length === 1 ? "" : "s"} (${listText(r.ids)}): ${
          claims === undefined ? "the ID token is not a readable JWT" : "the ID token has no chatgpt_account_id claim"
        }`
      )
    }
    if (!r.ids.includes(accountId)) {
      return violation(
        r.rule,
        r.source,
        `The ChatGPT credentials belong to workspace ${accountId}, but only ${listText(r.ids)} ${r.ids.length === 1 ? "is" : "are"} allowed`
      )
    }
  }
  return undefined
}

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

  const checkCredentials = (doc: AuthDotJson.AuthDocument) => {
    const mode = AuthDotJson.modeOf(doc)
    if (mode === undefined) return Effect.void
    if (mode === "apikey") return orVoid(d.methodViolation("api", true))
    return orVoid(d.methodViolation("chatgpt", true) ?? workspaceViolation(d, doc))
  }

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

/** One setting in `describePolicy`. */
export interface DescribedValue<A> {
  readonly value: A
  /** `managed: /etc/codex/managed_config.toml`, `requirements: …`, `override: -c`, `user: …/config.toml`, `default`. */
  readonly source: string
}

/** JSON-serializable policy report for `login status --json` and `doctor`. */
export interface PolicyDescription {
  readonly settings: {
    readonly forced_login_method: DescribedValue<LoginMethod | null>
    readonly forced_chatgpt_workspace_id: DescribedValue<ReadonlyArray<string> | null>
    readonly allowed_login_methods: DescribedValue<ReadonlyArray<LoginMethod> | null>
    readonly allowed_chatgpt_workspaces: DescribedValue<ReadonlyArray<string> | null>
    readonly cli_auth_credentials_store: DescribedValue<string>
    readonly allow_device_code_login: DescribedValue<boolean>
  }
  readonly effective: {
    /** Login methods that can be used (ChatGPT needs at least one allowed workspace). */
    readonly login_methods: ReadonlyArray<LoginMethod>
    /** `null`: any workspace. */
    readonly chatgpt_workspaces: ReadonlyArray<string> | null
    /** Sent as `allowed_workspace_id` on the authorize URL. */
    readonly allowed_workspace_id: string | null
    readonly device_code_login: boolean
  }
  readonly files: ReadonlyArray<{ readonly layer: string; readonly path: string; readonly present: boolean }>
  readonly notes: ReadonlyArray<string>
}

const described = <A>(s: Sourced<A> | undefined): DescribedValue<A | null> =>
  s === undefined ? { value: null, source: "default" } : { value: s.value, source: s.source }

/** The effective policy and where each value came from, as plain JSON data. */
export const describePolicy = (config: CodexConfigShape): PolicyDescription => {
  const d = decisions(config)
  const ws = d.effectiveWorkspaces?.value
  return {
    settings: {
      forced_login_method: described(config.forcedLoginMethod),
      forced_chatgpt_workspace_id: described(config.forcedWorkspaceIds),
      allowed_login_methods: described(config.allowedLoginMethods),
      allowed_chatgpt_workspaces: described(config.allowedWorkspaces),
      cli_auth_credentials_store: { value: config.credentialsStore.value, source: config.credentialsStore.source },
      allow_device_code_login: { value: config.allowDeviceCodeLogin.value, source: config.allowDeviceCodeLogin.source }
    },
    effective: {
      login_methods: d.usableMethods,
      chatgpt_workspaces: ws === undefined ? null : ws,
      allowed_workspace_id: ws === undefined || ws.length === 0 ? null : ws.join(","),
      device_code_login: d.usableMethods.includes("chatgpt") && config.allowDeviceCodeLogin.value
    },
    files: config.files.map((f) => ({ layer: f.kind, path: f.path, present: f.present })),
    notes: config.notes
  }
}

/** `describePolicy` for the `CodexConfig` in context. */
export const describe: Effect.Effect<PolicyDescription, never, CodexConfig> = Effect.map(
  Effect.service(CodexConfig),
  describePolicy
)

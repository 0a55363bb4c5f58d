/**
 * The policy's decisions as plain functions, without the effect runtime: which login methods and
 * workspaces are allowed, whether stored credentials break the rules, and the JSON description
 * `login status --json` and `doctor` print. `Policy.ts` builds the `AuthPolicy` service and the
 * startup enforcement on them; the CLI's lean path (`login status`, `token`) calls them directly.
 *
 * @since 0.1.0
 */
import { AuthDotJson, Errors } from "@codex-auth/core"
import type { CodexConfigShape, Sourced } from "./ConfigFiles.ts"
import { LOGIN_METHODS, type LoginMethod } from "./Settings.ts"

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

export const violation = (rule: string, source: string, detail: string) =>
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
  const usableMethods = LOGIN_METHODS.filter((m) =>
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
export const emptyWorkspaceViolation = (d: Decisions): Errors.PolicyViolation | undefined => {
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

/**
 * The `allowed_workspace_id` authorize parameter for an allow-list: the IDs joined with commas, as
 * Codex sends them; `undefined` when any workspace is allowed (or none is: such a login is
 * refused before a URL is built).
 */
export const allowedWorkspaceId = (ids: ReadonlyArray<string> | undefined): string | undefined =>
  ids === undefined || ids.length === 0 ? undefined : ids.join(",")

/** Why stored (or supplied) credentials break the policy, or `undefined` when they comply. */
export const credentialsViolation = (d: Decisions, doc: AuthDotJson.AuthDocument): Errors.PolicyViolation | undefined => {
  const mode = AuthDotJson.modeOf(doc)
  if (mode === undefined) return undefined
  if (mode === "apikey") return d.methodViolation("api", true)
  return d.methodViolation("chatgpt", true) ?? workspaceViolation(d, doc)
}

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
      allowed_workspace_id: allowedWorkspaceId(ws) ?? null,
      device_code_login: d.usableMethods.includes("chatgpt") && config.allowDeviceCodeLogin.value
    },
    files: config.files.map((f) => ({ layer: f.kind, path: f.path, present: f.present })),
    notes: config.notes
  }
}


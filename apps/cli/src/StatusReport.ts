/**
 * The data behind `login status` and `login status --json` (schema version 1, documented in the
 * README). Built from stored credentials without any network call and without refreshing.
 *
 * Claims (email, plan, workspace), paths and reasons come from outside: {@link render} shows
 * them through core's `SafeText` (escaped text; JSON with `\uXXXX` escapes, which decodes to the
 * exact values), so nothing stored can drive the terminal.
 *
 * @since 0.1.0
 */
import { AuthDotJson, type CredentialStore, Jwt, ReauthMarker, SafeText } from "@codex-auth/core"
import type { Policy } from "@codex-auth/policy"
import { Option, Redacted } from "effect"

export interface StatusJson {
  readonly schema_version: 1
  readonly logged_in: boolean
  readonly mode: "chatgpt" | "apikey" | null
  readonly codex_home: string
  readonly store: {
    readonly mode: string
    readonly backend: string
    readonly location: string
    readonly fallback_reason: string | null
  }
  readonly account: {
    readonly email: string | null
    readonly plan: string | null
    readonly account_id: string | null
    readonly user_id: string | null
    readonly organizations: ReadonlyArray<{ readonly id: string; readonly title: string | null; readonly role: string | null; readonly is_default: boolean }>
  } | null
  readonly api_key: { readonly masked: string } | null
  readonly tokens: {
    readonly access_token_expires_at: string | null
    readonly id_token_expires_at: string | null
    readonly last_refresh: string | null
    readonly next_refresh_due: string | null
    readonly refresh_due_now: boolean
    readonly issuer: string | null
    /**
     * Set when the issuer rejected the stored refresh token for good (the AuthManager's
     * `ReauthMarker` names this refresh token): the user must sign in again.
     */
    readonly reauth_required: { readonly reason: string; readonly at: string } | null
  } | null
  readonly capabilities: {
    readonly plan: boolean
    readonly fast_mode: boolean
    readonly codex_cloud: boolean
    readonly usage_billing: boolean
  }
  readonly env_overrides: {
    readonly CODEX_API_KEY: boolean
    readonly CODEX_ACCESS_TOKEN: boolean
    readonly OPENAI_API_KEY: boolean
  }
  /** The effective policy and the source of each value (see docs/policy.md). */
  readonly policy: Policy.PolicyDescription
}

const iso = (ms: number | undefined): string | null => (ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString())
const envSet = (name: string) => (process.env[name] ?? "").length > 0

export const build = (input: {
  readonly codexHome: string
  readonly doc: Option.Option<AuthDotJson.AuthDocument>
  readonly store: CredentialStore.StoreInfo
  readonly policy: Policy.PolicyDescription
  readonly now: number
}): StatusJson => {
  const doc = Option.getOrUndefined(input.doc)
  const mode = doc === undefined ? undefined : AuthDotJson.loginOf(doc)
  const claims = doc === undefined ? undefined : AuthDotJson.claimsOf(doc)
  const dueAt = doc === undefined ? Number.POSITIVE_INFINITY : AuthDotJson.refreshDueAt(doc)
  const due = Number.isFinite(dueAt) ? dueAt : undefined
  const reauth = mode === "chatgpt" ? ReauthMarker.activeFor(input.codexHome, doc) : undefined
  return {
    schema_version: 1,
    logged_in: mode !== undefined,
    mode: mode ?? null,
    codex_home: input.codexHome,
    store: {
      mode: input.store.mode,
      backend: input.store.backend,
      location: input.store.location,
      fallback_reason: input.store.fallbackReason ?? null
    },
    account: mode === "chatgpt"
      ? {
        email: claims?.email ?? null,
        plan: claims?.planType ?? null,
        account_id: (doc?.tokens?.accountId ?? claims?.accountId) ?? null,
        user_id: claims?.userId ?? null,
        organizations: (claims?.organizations ?? []).map((o) => ({ id: o.id, title: o.title ?? null, role: o.role ?? null, is_default: o.isDefault }))
      }
      : null,
    api_key: doc?.apiKey !== undefined ? { masked: AuthDotJson.maskApiKey(Redacted.value(doc.apiKey)) } : null,
    tokens: mode === "chatgpt" && doc?.tokens !== undefined
      ? {
        access_token_expires_at: iso(Jwt.expiryMillis(Redacted.value(doc.tokens.accessToken))),
        id_token_expires_at: iso(Jwt.expiryMillis(Redacted.value(doc.tokens.idToken))),
        last_refresh: doc.lastRefresh ?? null,
        next_refresh_due: iso(due),
        refresh_due_now: due !== undefined && due <= input.now,
        issuer: AuthDotJson.provenanceOf(doc)?.issuer ?? null,
        reauth_required: reauth === undefined ? null : { reason: reauth.reason, at: reauth.at }
      }
      : null,
    capabilities: {
      plan: mode === "chatgpt",
      fast_mode: mode === "chatgpt",
      codex_cloud: mode === "chatgpt",
      usage_billing: mode === "apikey"
    },
    env_overrides: {
      CODEX_API_KEY: envSet("CODEX_API_KEY"),
      CODEX_ACCESS_TOKEN: envSet("CODEX_ACCESS_TOKEN"),
      OPENAI_API_KEY: envSet("OPENAI_API_KEY")
    },
    policy: input.policy
  }
}

const ago = (target: number, now: number): string => {
  const s = Math.round((target - now) / 1000)
  const abs = Math.abs(s)
  const text = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : abs < 172800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`
  return s >= 0 ? `in ${text}` : `${text} ago`
}

/**
 * Human text; the first line matches the Codex CLI's wording. Every line is escaped
 * (`SafeText.escape`): a newline or an escape sequence in a claim stays on its line, visible.
 */
export const renderText = (s: StatusJson, now: number): string => {
  const lines: Array<string> = []
  if (!s.logged_in) {
    lines.push("Not logged in")
  } else if (s.mode === "apikey") {
    lines.push(`API key configured - ${s.api_key?.masked ?? "***"}`)
    lines.push("  Billing:    usage-based API billing (no fast mode, no Codex cloud)")
  } else {
    lines.push("Logged in using ChatGPT")
    if (s.account?.email) lines.push(`  Account:    ${s.account.email}`)
    if (s.account?.plan) lines.push(`  Plan:       ${s.account.plan} (fast mode credits, Codex cloud)`)
    if (s.account?.account_id) lines.push(`  Workspace:  ${s.account.account_id}`)
    const exp = s.tokens?.access_token_expires_at
    if (exp) lines.push(`  Access token expires ${ago(Date.parse(exp), now)} (${exp})`)
    if (s.tokens?.reauth_required) {
      lines.push(`  Session:    ended (${s.tokens.reauth_required.reason} at ${s.tokens.reauth_required.at}) — sign in again: codex-auth login`)
    } else if (s.tokens?.next_refresh_due) {
      lines.push(s.tokens.refresh_due_now ? "  Refresh:    due now (runs on next use)" : `  Refresh:    due ${ago(Date.parse(s.tokens.next_refresh_due), now)}`)
    }
  }
  lines.push(`  Store:      ${s.store.backend} (${s.store.location})${s.store.fallback_reason ? ` — keyring unavailable: ${s.store.fallback_reason}` : ""}`)
  const overrides = Object.entries(s.env_overrides).filter(([, v]) => v).map(([k]) => k)
  if (overrides.length > 0) lines.push(`  Note:       ${overrides.join(", ")} set in the environment`)
  return lines.map(SafeText.escape).join("\n")
}

/** What `login status` prints: the text, or with `--json` the report as JSON (`SafeText.json`). */
export const render = (s: StatusJson, json: boolean, now: number): string => (json ? SafeText.json(s) : renderText(s, now))

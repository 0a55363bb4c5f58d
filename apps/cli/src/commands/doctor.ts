/**
 * `codex-auth doctor [--json] [--issuer URL] [--offline]`: one screen that explains why sign-in or
 * refresh may fail here. Network: which CA variable and file were chosen and how many
 * certificates they hold, the proxy in effect for the issuer, whether the issuer answers over
 * that route and the clock skew against it, whether 127.0.0.1:1455 and :1457 are free, and
 * headless / SSH / WSL detection. Credentials: the store in use and why, keyring health, the
 * effective policy and its sources, and the environment variables that change authentication
 * (present or not; values are never printed). Each problem comes with its next step.
 *
 * Never logs out (unlike other commands it skips the startup policy enforcement) and never
 * refreshes. Exit code 0 when no problem is an error; otherwise the code of the first error's
 * area: 6 network (CA, proxy, issuer, clock), 5 storage, 8 configuration, 7 login ports.
 *
 * @since 0.1.0
 */
import { CredentialStore, ExitCode, SafeText } from "@codex-auth/core"
import { CodexConfig, Policy, Startup } from "@codex-auth/policy"
import { KeyringStore } from "@codex-auth/storage"
import * as Diagnose from "@codex-auth/tls/Diagnose"
import { Config, Effect, Fiber, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { SilentExit } from "../Output.ts"
import { stdout } from "../programs/Stdout.ts"
import { root, switchFlag } from "../Root.ts"
import { type AppContext, appContext } from "../Services.ts"

/** Variables that change which credentials are used, and how. */
export const AUTH_ENV_OVERRIDES: ReadonlyArray<{ readonly name: string; readonly effect: string }> = [
  { name: "CODEX_API_KEY", effect: "used instead of the stored credentials (Codex exec)" },
  { name: "CODEX_ACCESS_TOKEN", effect: "used as the access token instead of the stored credentials" },
  { name: "OPENAI_API_KEY", effect: "not a login by itself in recent Codex; store it with `login --with-api-key`" },
  { name: "CODEX_REFRESH_TOKEN_URL_OVERRIDE", effect: "refresh requests go to this URL instead of the issuer" },
  { name: "CODEX_REVOKE_TOKEN_URL_OVERRIDE", effect: "revoke requests go to this URL instead of the issuer" }
]

type Area = Diagnose.Problem["area"] | "store" | "keyring" | "config"

export interface DoctorProblem {
  readonly area: Area
  readonly severity: Diagnose.Severity
  readonly message: string
  readonly next: string
}

export interface DoctorReport {
  readonly schema_version: 1
  readonly ok: boolean
  readonly codex_home: string
  /** `Diagnose.NetworkDiagnosis` without `problems`, keys in snake_case like the rest of the report. */
  readonly network: Record<string, unknown>
  readonly store: {
    readonly requested: { readonly value: string; readonly source: string } | null
    readonly mode: string | null
    readonly backend: string | null
    readonly location: string | null
    readonly fallback_reason: string | null
    readonly error: string | null
  }
  readonly keyring: {
    readonly status: "available" | "unavailable" | "not-checked"
    readonly entry: string
    readonly entry_present: boolean | null
    readonly reason: string | null
    readonly detail: string | null
  }
  readonly policy: Policy.PolicyDescription | null
  readonly env_overrides: ReadonlyArray<{ readonly name: string; readonly set: boolean; readonly effect: string }>
  readonly problems: ReadonlyArray<DoctorProblem>
}

export interface DoctorOptions {
  readonly issuer: string
  readonly offline: boolean
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Ports to probe (default 1455 and 1457). */
  readonly ports?: ReadonlyArray<number>
}

const isSet = (env: Readonly<Record<string, string | undefined>>, name: string) => (env[name] ?? "") !== ""

/**
 * Gathers the whole report (and the typed network diagnosis, for rendering). Never fails: every
 * failure is a problem in the report.
 */
export const doctorReport = (ctx: AppContext, options: DoctorOptions) =>
  Effect.gen(function*() {
    const env = options.env ?? process.env
    const problems: Array<DoctorProblem> = []

    const networkFiber = yield* Effect.forkChild(Diagnose.diagnoseNetwork({
      env,
      issuer: options.issuer,
      offline: options.offline,
      ...(options.ports !== undefined ? { ports: options.ports } : {})
    }))

    // Configuration, policy and the store, without the startup enforcement (doctor never logs out).
    const configResult = yield* Effect.result(CodexConfig.load({ codexHome: ctx.codexHome.path, overrides: ctx.overrides }))
    let policy: Policy.PolicyDescription | null = null
    let requested: DoctorReport["store"]["requested"] = null
    if (configResult._tag === "Failure") {
      const e = configResult.failure
      problems.push({ area: "config", severity: "error", message: e.userMessage, next: e.hint ?? "Fix the configuration file." })
    } else {
      policy = Policy.describePolicy(configResult.success)
      const mode = CodexConfig.effectiveStoreMode(configResult.success, ctx.storeFlag)
      requested = { value: mode.value, source: mode.source }
      for (const note of configResult.success.notes) {
        problems.push({ area: "config", severity: "info", message: note, next: "See docs/policy.md." })
      }
    }

    let store: DoctorReport["store"] = { requested, mode: null, backend: null, location: null, fallback_reason: null, error: null }
    if (configResult._tag === "Success") {
      const info = yield* Effect.result(
        Effect.gen(function*() {
          const s = yield* CredentialStore.CredentialStore
          return yield* s.info
        }).pipe(Effect.provide(Layer.fresh(Startup.storeLayer(configResult.success, { codexHome: ctx.codexHome.path, storeFlag: ctx.storeFlag }))))
      )
      if (info._tag === "Success") {
        store = {
          requested,
          mode: info.success.mode,
          backend: info.success.backend,
          location: info.success.location,
          fallback_reason: info.success.fallbackReason ?? null,
          error: null
        }
        if (info.success.fallbackReason !== undefined) {
          const reason = KeyringStore.parseFallbackReason(info.success.fallbackReason)
          problems.push({
            area: "store",
            severity: "warning",
            message: `The keyring could not be used, so credentials are in ${info.success.location}: ${reason.text}`,
            next: KeyringStore.suggestionFor(reason.code)
          })
        }
      } else {
        const e = info.failure
        const message = "userMessage" in e ? e.userMessage : String(e)
        const hint = "hint" in e ? e.hint : undefined
        store = { ...store, error: message }
        problems.push({ area: "store", severity: "error", message, next: hint ?? "Run with `--store file` to use auth.json." })
      }
    }

    // Keyring health: can the Secret Service be reached, and is there an entry for this CODEX_HOME?
    const access = KeyringStore.makeAccess({ codexHome: ctx.codexHome.path, env: env as NodeJS.ProcessEnv })
    const probe = yield* Effect.result(Effect.map(access.read, Option.isSome))
    const keyringNeeded = requested !== null && requested.value === "keyring"
    const keyring: DoctorReport["keyring"] = probe._tag === "Success"
      ? { status: "available", entry: access.entry(), entry_present: probe.success, reason: null, detail: null }
      : { status: "unavailable", entry: access.entry(), entry_present: null, reason: probe.failure.reason, detail: probe.failure.detail }
    if (probe._tag === "Failure") {
      problems.push({
        area: "keyring",
        severity: keyringNeeded ? "error" : "info",
        message: `The keyring is unavailable (${probe.failure.reason}): ${probe.failure.detail}`,
        next: keyringNeeded ? KeyringStore.suggestionFor(probe.failure.reason) : "Only matters with `--store keyring` or `auto` (auto falls back to auth.json)."
      })
    }

    const envOverrides = AUTH_ENV_OVERRIDES.map((o) => ({ name: o.name, set: isSet(env, o.name), effect: o.effect }))
    for (const o of envOverrides.filter((o) => o.set)) {
      problems.push({
        area: "config",
        severity: o.name === "OPENAI_API_KEY" ? "info" : "warning",
        message: `${o.name} is set: ${o.effect}`,
        next: `Unset ${o.name} if you want the stored credentials to be used.`
      })
    }

    const network = yield* Fiber.join(networkFiber) // never fails
    problems.push(...network.problems)
    const order: Record<Diagnose.Severity, number> = { error: 0, warning: 1, info: 2 }
    const sorted = problems
      .map((p) => ({ ...p, next: withoutSelfReference(p.next) }))
      .sort((a, b) => order[a.severity] - order[b.severity])
    const { problems: _ignored, ...networkData } = network
    const report: DoctorReport = {
      schema_version: 1,
      ok: !sorted.some((p) => p.severity === "error"),
      codex_home: ctx.codexHome.path,
      network: snakeKeys(networkData) as Record<string, unknown>,
      store,
      keyring,
      policy,
      env_overrides: envOverrides,
      problems: sorted
    }
    return { report, network: networkData }
  })

/** Deep copy with object keys in snake_case (`certificateCount` → `certificate_count`). */
const snakeKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(snakeKeys)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snakeKeys(v)]))
    : value

const exitCodeFor = (report: DoctorReport): number => {
  const first = report.problems.find((p) => p.severity === "error")
  if (first === undefined) return ExitCode.ExitCode.Ok
  switch (first.area) {
    case "store":
    case "keyring":
      return ExitCode.ExitCode.Storage
    case "config":
      return ExitCode.ExitCode.Config
    case "ports":
      return ExitCode.ExitCode.LoginFailed
    default:
      return ExitCode.ExitCode.Network
  }
}

/** Hints written for other commands point at doctor itself; inside doctor that is noise. */
const withoutSelfReference = (text: string): string =>
  text.replace(/ ?\(`codex-auth doctor`[^)]*\)/g, "").replace(/ ?Run `codex-auth doctor`[^.]*\./g, "").trim()

const mark: Record<Diagnose.Severity, string> = { error: "✗", warning: "!", info: "·" }

/** The one-screen text form; every line escaped (`SafeText.escape`). */
export const renderDoctor = (r: DoctorReport, n: Omit<Diagnose.NetworkDiagnosis, "problems">): string => {
  const lines: Array<string> = ["codex-auth doctor", ""]
  const row = (label: string, value: string) => lines.push(`  ${label.padEnd(13)} ${value}`)
  lines.push("Network")
  if (n.ca.status === "none") {
    row("CA bundle", `none (CODEX_CA_CERTIFICATE and SSL_CERT_FILE unset): ${n.ca.baseRootCount} system and Node roots`)
  } else {
    const where = `${n.ca.path} (from ${n.ca.variable})`
    row(
      "CA bundle",
      n.ca.status === "ok"
        ? `${where}: ${n.ca.certificateCount} certificate(s), added to ${n.ca.baseRootCount} system and Node roots`
        : `${where}: UNUSABLE (${n.ca.error})`
    )
    for (const s of n.ca.shadowed) row("", `${s.variable}=${s.path} ignored (${n.ca.variable} wins)`)
  }
  if (n.proxy.status === "error") row("Proxy", `UNUSABLE (${n.proxy.error})`)
  else if (n.proxy.status === "none") row("Proxy", "none (direct connections)")
  else {
    const parts = [
      n.proxy.https !== null ? `https → ${n.proxy.https.url} (${n.proxy.https.variable})` : undefined,
      n.proxy.http !== null && n.proxy.http !== n.proxy.https ? `http → ${n.proxy.http.url} (${n.proxy.http.variable})` : undefined,
      n.proxy.noProxy !== null ? `${n.proxy.noProxy.variable}=${n.proxy.noProxy.value}` : undefined
    ].filter((p) => p !== undefined)
    row("Proxy", parts.join("; "))
  }
  const route = n.proxy.issuerRoute === "direct" ? "directly" : `through ${n.proxy.issuerRoute}`
  row(
    "Issuer",
    !n.issuer.checked
      ? `${n.issuer.url}: not checked${n.issuer.error !== null ? ` (${n.issuer.error})` : " (--offline)"}`
      : n.issuer.reachable
      ? `${n.issuer.url} reachable ${route} (HTTP ${n.issuer.status}, ${n.issuer.latencyMs} ms); clock skew ${n.issuer.clockSkewSeconds ?? "unknown"} s`
      : `${n.issuer.url} NOT reachable ${route}: ${n.issuer.error}`
  )
  row("Login ports", n.ports.map((p) => `${p.host}:${p.port} ${p.status}`).join(", ") || "not checked")
  const s = n.session
  row(
    "Session",
    [
      s.ssh ? "SSH" : "local",
      s.display !== null ? `display ${s.display}` : s.platform === "linux" && !s.wsl ? "no display" : undefined,
      s.wsl ? "WSL" : undefined,
      s.headless ? "headless: use --device-auth" : undefined
    ].filter((p) => p !== undefined).join(", ")
  )
  lines.push("Credentials")
  row("CODEX_HOME", r.codex_home)
  row(
    "Store",
    r.store.error !== null
      ? `UNUSABLE (${r.store.error})`
      : r.store.backend === null
      ? "unknown"
      : `${r.store.backend} (${r.store.location})${r.store.requested !== null ? `, ${r.store.requested.value} from ${r.store.requested.source}` : ""}${r.store.fallback_reason !== null ? `, fell back: ${r.store.fallback_reason}` : ""}`
  )
  row(
    "Keyring",
    r.keyring.status === "available"
      ? `available, ${r.keyring.entry_present === true ? "entry present" : "no entry"} (${r.keyring.entry})`
      : `unavailable (${r.keyring.reason})`
  )
  if (r.policy !== null) {
    const p = r.policy
    const fm = p.settings.forced_login_method
    const ws = p.effective.chatgpt_workspaces
    row(
      "Policy",
      [
        `login ${p.effective.login_methods.join("+") || "none"}${fm.value !== null ? ` (forced_login_method from ${fm.source})` : ""}`,
        `workspaces ${ws === null ? "any" : ws.length === 0 ? "none" : ws.join(",")}${p.settings.forced_chatgpt_workspace_id.value !== null ? ` (from ${p.settings.forced_chatgpt_workspace_id.source})` : ""}`,
        `device code ${p.effective.device_code_login ? "allowed" : "off"}`
      ].join("; ")
    )
  }
  const set = r.env_overrides.filter((o) => o.set).map((o) => o.name)
  row("Env overrides", set.length === 0 ? "none" : `${set.join(", ")} set`)
  lines.push("")
  if (r.problems.length === 0) lines.push("No problems found.")
  else {
    lines.push(`Problems (${r.problems.length})`)
    for (const p of r.problems) {
      lines.push(`  ${mark[p.severity]} ${p.message}`)
      lines.push(`    → ${p.next}`)
    }
  }
  // Paths, URLs, proxy settings, policy values and error texts come from outside: one escaped line each.
  return lines.map(SafeText.escape).join("\n")
}

/** The issuer doctor checks: `--issuer`, else `CODEX_AUTH_ISSUER`, else https://auth.openai.com. */
const issuerFlag = Flag.String("issuer").pipe(
  Flag.withDescription("Issuer to check reachability and clock skew against (default $CODEX_AUTH_ISSUER, else https://auth.openai.com)"),
  Flag.withFallbackConfig(Config.String("CODEX_AUTH_ISSUER")),
  Flag.withDefault(Diagnose.DEFAULT_ISSUER)
)

export const doctor = Command.make(
  "doctor",
  {
    json: switchFlag("json", "Print the report as JSON (schema_version 1)"),
    issuer: issuerFlag,
    offline: switchFlag("offline", "Do not contact the issuer")
  },
  Effect.fn("doctor")(function*({ issuer, json, offline }) {
    const ctx = appContext(yield* root)
    const { network, report } = yield* doctorReport(ctx, { issuer, offline })
    yield* stdout(json ? SafeText.json(report) : renderDoctor(report, network))
    const code = exitCodeFor(report)
    if (code !== ExitCode.ExitCode.Ok) return yield* new SilentExit({ code })
  })
).pipe(
  Command.withDescription("Explain this machine's sign-in setup: CA bundle, proxy, issuer reachability, clock, ports, store, keyring, policy"),
  Command.withExamples([
    { command: "codex-auth doctor", description: "One-screen report with a next step for each problem" },
    { command: "codex-auth doctor --json", description: "The same as JSON, for scripts and bug reports" }
  ])
)

/**
 * The lean path: `login status [--json]` and `token` in the common, healthy case, without the
 * effect runtime. Scripts call these two in loops, and evaluating effect and running a fiber cost
 * more than everything else such a run does (see docs/performance.md).
 *
 * It runs the same code as the effect programs, not a copy: configuration from
 * `ConfigFiles.loadSync` (what `CodexConfig.load` runs), auth.json from `AuthFile.readAuthText`
 * (what the file store's `load` runs), the policy from `Rules` (what `AuthPolicy` and the startup
 * check use), the report from `StatusReport`, the refresh schedule from `AuthDotJson.refreshDueAt`
 * (what the `AuthManager` uses).
 *
 * It **declines** (returns `undefined`, having printed nothing) whenever the run needs more than
 * reading: credentials in the environment (`CODEX_API_KEY`, `CODEX_ACCESS_TOKEN`), a configuration
 * error, a keyring or auto store, an unreadable or corrupt auth.json, stored credentials that break
 * the policy (they must be logged out), no credentials for `token` (an error to render), or an
 * access token due for refresh. `main.ts` then runs the effect program (`Fast.ts`), which handles
 * every case. In the bundle this module is the `lean` payload (see `Payloads.ts`); the build
 * refuses it if it pulls in the effect runtime.
 *
 * @since 0.1.0
 */
import { AuthDotJson, ExitCode } from "@codex-auth/core"
import * as ConfigFiles from "@codex-auth/policy/ConfigFiles"
import * as Rules from "@codex-auth/policy/Rules"
// Not the package index: it reaches the keyring and auto stores through dynamic imports, which
// the bundler keeps (with the effect runtime) even when nothing calls them.
import * as AuthFile from "@codex-auth/storage/AuthFile"
import * as CodexHome from "@codex-auth/storage/CodexHome"
import { Option, Redacted, Result } from "effect"
import type { FastArgs } from "./FastArgs.ts"
import { writeStdout } from "./programs/Stdout.ts"
import * as StatusReport from "./StatusReport.ts"

/** A variable as `Env.envString` reads it from the default `ConfigProvider`: unset or empty is `undefined`. */
const envValue = (name: string): string | undefined => {
  const v = process.env[name]
  return v !== undefined && v.length > 0 ? v : undefined
}

/** Set to something other than blanks (`Env.envString(name, { trim: true })`). */
const envCredential = (name: string): boolean => (process.env[name] ?? "").trim().length > 0

/** Runs the command and returns its exit code, or `undefined` (nothing printed) to decline. */
export const run = (args: FastArgs): number | undefined => {
  if (envCredential("CODEX_API_KEY") || envCredential("CODEX_ACCESS_TOKEN")) return undefined
  const codexHome = CodexHome.resolveCodexHome(args.codexHome).path
  const loaded = ConfigFiles.loadSync({ codexHome, overrides: [] }, envValue)
  if (Result.isFailure(loaded)) return undefined
  const config = loaded.success
  if (ConfigFiles.effectiveStoreMode(config, undefined).value !== "file") return undefined

  const authPath = AuthFile.authFilePath(codexHome)
  let text: string | undefined
  try {
    text = AuthFile.readAuthText(authPath)
  } catch {
    return undefined
  }
  let doc: AuthDotJson.AuthDocument | undefined
  if (text !== undefined) {
    const parsed = AuthDotJson.parse(text, authPath)
    if (Result.isFailure(parsed)) return undefined
    doc = parsed.success
    if (Rules.credentialsViolation(Rules.decisions(config), doc) !== undefined) return undefined
  }

  if (args.command === "status") {
    const now = Date.now()
    const report = StatusReport.build({
      codexHome,
      doc: Option.fromUndefinedOr(doc),
      store: AuthFile.fileStoreInfo(authPath),
      policy: Rules.describePolicy(config),
      now
    })
    writeStdout(args.json ? JSON.stringify(report, null, 2) : StatusReport.renderText(report, now))
    if (!report.logged_in) return ExitCode.ExitCode.NotLoggedIn
    if (report.tokens?.reauth_required != null) return ExitCode.ExitCode.ReauthRequired
    return ExitCode.ExitCode.Ok
  }

  if (doc === undefined) return undefined
  const mode = AuthDotJson.modeOf(doc)
  if (mode === "apikey" && doc.apiKey !== undefined) {
    writeStdout(Redacted.value(doc.apiKey))
    return ExitCode.ExitCode.Ok
  }
  if (mode === "chatgpt" && doc.tokens !== undefined && Date.now() < AuthDotJson.refreshDueAt(doc)) {
    writeStdout(Redacted.value(doc.tokens.accessToken))
    return ExitCode.ExitCode.Ok
  }
  return undefined
}

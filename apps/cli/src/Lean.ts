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
 * the policy (they must be logged out), or no credentials for `token` (an error to render).
 * `main.ts` then runs the effect program (`Fast.ts`), which handles every case.
 *
 * An access token due for refresh: the lean path takes codex-auth's refresh lock and hands the run
 * (and the lock) to the full CLI, or, while another process refreshes, waits for its token in
 * auth.json (`refreshOrWait`). The native lock is loaded only then. In the bundle this module is the `lean` payload (see `Payloads.ts`); the build
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
import * as LockFile from "@codex-auth/storage/LockFile"
import * as Ownership from "@codex-auth/storage/Ownership"
import { Option, Redacted, Result } from "effect"
import { type FSWatcher, statSync, watch } from "node:fs"
import { basename } from "node:path"
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

/** What `main.ts` runs after the lean path: `undefined` declines to the fast path, `"full"` goes straight to the full CLI. */
export type LeanResult = number | undefined | "full"

interface Read {
  readonly codexHome: string
  readonly config: ConfigFiles.CodexConfigShape
  readonly authPath: string
  readonly doc: AuthDotJson.AuthDocument | undefined
}

/** Configuration and auth.json as the effect path would read them, or `undefined` to decline. */
const read = (args: FastArgs): Read | undefined => {
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
  if (text === undefined) return { codexHome, config, authPath, doc: undefined }
  const parsed = AuthDotJson.parse(text, authPath)
  if (Result.isFailure(parsed)) return undefined
  if (Rules.credentialsViolation(Rules.decisions(config), parsed.success) !== undefined) return undefined
  return { codexHome, config, authPath, doc: parsed.success }
}

/** The bearer `token` prints for `doc` without refreshing, or `undefined` when it needs more. */
const servable = (doc: AuthDotJson.AuthDocument | undefined): string | undefined => {
  if (doc === undefined) return undefined
  const mode = AuthDotJson.loginOf(doc)
  if (mode === "apikey" && doc.apiKey !== undefined) return Redacted.value(doc.apiKey)
  if (mode === "chatgpt" && doc.tokens !== undefined && Date.now() < AuthDotJson.refreshDueAt(doc)) return Redacted.value(doc.tokens.accessToken)
  return undefined
}

const fingerprint = (path: string): string => {
  try {
    const st = statSync(path, { bigint: true })
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
  } catch {
    return "absent"
  }
}

/** Longest wait for another process's refresh before the effect path takes over (and reports). */
const REFRESH_WAIT_MS = 30_000
/**
 * How often a waiter looks again without a change notification: auth.json's change wakes it at
 * once, so this only bounds how long a refresh that failed (and wrote nothing) goes unnoticed.
 */
const RETRY_WATCHED_MS = 500
/** The same where change notifications are not available. */
const RETRY_UNWATCHED_MS = 25

/**
 * `token` with an access token due for refresh: take codex-auth's refresh lock and hand it to the
 * full CLI, which refreshes under it (one acquisition, in this process); or, while another process
 * holds it, watch CODEX_HOME and print the fresh token it writes to auth.json — waiters neither
 * pass through the lock one by one to learn that, nor spin: they sleep until the directory changes
 * (`fs.watch`), trying the lock again every 50 ms in case the holder gave up without writing.
 */
const refreshOrWait = async (args: FastArgs, first: Read): Promise<LeanResult> => {
  const lockPath = CodexHome.refreshLockPath(first.codexHome)
  const deadline = Date.now() + REFRESH_WAIT_MS
  let seen = fingerprint(first.authPath)
  let wake: (() => void) | undefined
  // A change notified while this waiter was busy (reading, trying the lock) is kept for its next
  // sleep: the refresher's commit notifies twice (its temporary file, then the rename over
  // auth.json), and losing the second would cost a whole RETRY_WATCHED_MS.
  let changed = false
  const authName = basename(first.authPath)
  const notify = (file: string | null) => {
    if (file !== null && file !== authName) return
    if (wake === undefined) changed = true
    else wake()
  }
  let watcher: FSWatcher | undefined
  try {
    for (;;) {
      // auth.json first: a holder that just committed and released must not send us to the full CLI.
      const now = fingerprint(first.authPath)
      if (now !== seen) {
        seen = now
        const again = read(args)
        if (again === undefined) return undefined
        const token = servable(again.doc)
        if (token !== undefined) {
          writeStdout(token)
          return ExitCode.ExitCode.Ok
        }
      }
      let held: LockFile.Held | undefined
      try {
        Ownership.checkHome(first.codexHome) // nothing is created in a CODEX_HOME that is not ours
        held = LockFile.tryAcquire(lockPath, { mode: CodexHome.LOCK_FILES.refresh.mode })
      } catch {
        return undefined // not our CODEX_HOME, no native lock or no lock file: the effect path says why
      }
      if (held !== undefined) {
        if (fingerprint(first.authPath) !== seen) {
          // Written between the check and the lock: look again before starting the full CLI.
          held.release()
          continue
        }
        held.handOff()
        return "full"
      }
      if (Date.now() >= deadline) return undefined
      if (watcher === undefined) {
        try {
          watcher = watch(first.codexHome, (_event, file) => notify(file))
          continue // auth.json may have changed before the watch began: look once more
        } catch {
          // no change notifications here (some network file systems): the timer alone wakes us
        }
      }
      if (changed) {
        changed = false
        continue
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake?.(), watcher === undefined ? RETRY_UNWATCHED_MS : RETRY_WATCHED_MS)
        wake = () => {
          wake = undefined
          clearTimeout(timer)
          resolve()
        }
      })
    }
  } finally {
    watcher?.close()
  }
}

/** Runs the command and returns its exit code, `undefined` (nothing printed) to decline, or `"full"`. */
export const run = (args: FastArgs): LeanResult | Promise<LeanResult> => {
  const r = read(args)
  if (r === undefined) return undefined
  const { codexHome, config, authPath, doc } = r

  if (args.command === "status") {
    const now = Date.now()
    const report = StatusReport.build({
      codexHome,
      doc: Option.fromUndefinedOr(doc),
      store: AuthFile.fileStoreInfo(authPath),
      policy: Rules.describePolicy(config),
      now
    })
    writeStdout(StatusReport.render(report, args.json, now))
    if (!report.logged_in) return ExitCode.ExitCode.NotLoggedIn
    if (report.tokens?.reauth_required != null) return ExitCode.ExitCode.ReauthRequired
    return ExitCode.ExitCode.Ok
  }

  const token = servable(doc)
  if (token !== undefined) {
    writeStdout(token)
    return ExitCode.ExitCode.Ok
  }
  if (doc !== undefined && AuthDotJson.loginOf(doc) === "chatgpt") return refreshOrWait(args, r)
  return undefined
}

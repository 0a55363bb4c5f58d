/**
 * The keyring backend: Codex's own entry in the OS keyring (service `Codex Auth`, account
 * `cli|<first 16 hex of SHA-256(canonical CODEX_HOME)>`, secret = the compact auth.json JSON), so
 * the real Codex CLI and codex-auth read each other's credentials. On Linux that is the Secret
 * Service over D-Bus (gnome-keyring, KeePassXC, …), pinned so that `@napi-rs/keyring` never
 * silently falls back to the kernel keyring, where Codex would not look.
 *
 * Never hangs: `@napi-rs/keyring` connects to D-Bus *synchronously* when an entry is built, and a
 * native call stuck on an unresponsive bus can neither be aborted nor let the process exit (not
 * even from a worker thread). So every keyring call runs in a small helper process (Node, the
 * keyring module loaded in a worker thread), spawned on first use and reused. Each request has a
 * timeout; on expiry the helper is killed, the call fails with reason `timeout`, and later calls
 * fail fast. The helper is unreferenced (it never keeps the CLI alive), is killed when this
 * process exits, and kills itself when its stdin closes. Secrets travel over its stdin/stdout
 * pipes, never in argv or the environment.
 *
 * Failures are classified into stable reason codes (`no_dbus_session`, `service_absent`,
 * `no_default_collection`, `locked`, `timeout`, `error`) with a human text. Every save is read
 * back and compared with what was written.
 *
 * In keyring mode (Codex's `cli_auth_credentials_store = "keyring"`): load reads only the keyring;
 * save writes the keyring, then deletes a leftover auth.json (as Codex does); remove purges both.
 * An unavailable keyring is a `StorageError` naming the reason and the next step.
 *
 * @since 0.1.0
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createRequire } from "node:module"
import { join } from "node:path"
import { AuthDotJson, CredentialStore, Errors } from "@codex-auth/core"
import { Data, Effect, Layer, Option, Result } from "effect"
import { KEYRING_SERVICE, keyringAccount } from "./CodexHome.ts"
import * as AuthFile from "./AuthFile.ts"
import * as FileStore from "./FileStore.ts"

/** Why the keyring could not be used: a stable code for scripts, with a human text beside it. */
export type KeyringReason =
  | "no_dbus_session"
  | "service_absent"
  | "no_default_collection"
  | "locked"
  | "timeout"
  | "error"

export const KEYRING_REASONS: ReadonlyArray<KeyringReason> = [
  "no_dbus_session",
  "service_absent",
  "no_default_collection",
  "locked",
  "timeout",
  "error"
]

/** The keyring could not be used for one call. Internal to the stores; users see a `StorageError` or a fallback. */
export class KeyringUnavailable extends Data.TaggedError("KeyringUnavailable")<{
  readonly reason: KeyringReason
  /** Human text; never a secret. */
  readonly detail: string
}> {
  /** `<reason>: <detail>`, the form used for `StoreInfo.fallbackReason` (see `parseFallbackReason`). */
  get text(): string {
    return `${this.reason}: ${this.detail}`
  }
  override get message() {
    return this.text
  }
}

/** Splits a `StoreInfo.fallbackReason` (`"locked: the keyring is locked …"`) into its code and text. */
export const parseFallbackReason = (s: string): { readonly code: KeyringReason; readonly text: string } => {
  const i = s.indexOf(": ")
  const code = i > 0 ? s.slice(0, i) : ""
  return (KEYRING_REASONS as ReadonlyArray<string>).includes(code)
    ? { code: code as KeyringReason, text: s.slice(i + 2) }
    : { code: "error", text: s }
}

/** The next step for each reason, for keyring-mode errors. */
export const suggestionFor = (reason: KeyringReason): string => {
  switch (reason) {
    case "no_dbus_session":
    case "service_absent":
    case "no_default_collection":
      return "Use `--store file` or `--store auto` (cli_auth_credentials_store in config.toml), or start a Secret Service: " +
        "on a headless Linux machine, run the command under `dbus-run-session` after " +
        "`gnome-keyring-daemon --unlock --components=secrets` (keyring password on stdin)."
    case "locked":
      return "Unlock the keyring (log in to your desktop session, or feed the password to `gnome-keyring-daemon --unlock` on stdin), " +
        "or use `--store file` / `--store auto`."
    case "timeout":
      return "Check that the Secret Service (gnome-keyring, KeePassXC, …) is responsive; raise CODEX_AUTH_KEYRING_TIMEOUT_MS " +
        "(milliseconds) for a slow one, or use `--store file` / `--store auto`."
    case "error":
      return "If the keyring keeps failing, use `--store file` or `--store auto`."
  }
}

/** Classifies an error text from the keyring module. `address` is the D-Bus address in use, if any. */
export const classify = (message: string, address: string | undefined): KeyringUnavailable => {
  const m = message.replace(/\s+/g, " ").trim()
  if (/autolaunch|DBUS_SESSION_BUS_ADDRESS/i.test(m)) {
    return new KeyringUnavailable({ reason: "no_dbus_session", detail: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)" })
  }
  if (/failed to connect to socket|connection refused|could not connect|no such file or directory|ECONNREFUSED|ENOENT/i.test(m)) {
    return new KeyringUnavailable({
      reason: "no_dbus_session",
      detail: `cannot connect to the D-Bus session bus${address ? ` at ${address}` : ""} (${m})`
    })
  }
  if (/ServiceUnknown|not provided by any \.service files|NameHasNoOwner|org\.freedesktop\.secrets/i.test(m)) {
    return new KeyringUnavailable({
      reason: "service_absent",
      detail: "no Secret Service on the D-Bus session bus (nothing provides org.freedesktop.secrets: no gnome-keyring or KeePassXC running)"
    })
  }
  if (/prompt was dismissed|is locked|locked/i.test(m)) {
    return new KeyringUnavailable({
      reason: "locked",
      detail: "the keyring is locked, and unlocking it needs a password prompt that was dismissed or cannot be shown here"
    })
  }
  if (/no result found|no such object|default collection/i.test(m)) {
    return new KeyringUnavailable({
      reason: "no_default_collection",
      detail: "the Secret Service has no default collection (the \"login\" keyring) to store into"
    })
  }
  return new KeyringUnavailable({ reason: "error", detail: m.length > 0 ? m : "unknown keyring error" })
}

// ---------------------------------------------------------------------------------------------
// The helper process
// ---------------------------------------------------------------------------------------------

/** Runs in a worker thread of the helper: loads the keyring module and serves requests. */
const WORKER_SOURCE = String.raw`
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
let mod, loadError;
try { mod = require(workerData.modulePath); } catch (e) { loadError = e; }
const entries = new Map();
const options = process.platform === "linux" ? { linux: { store: "secret-service" } } : undefined;
const entryFor = (service, account) => {
  const key = service + "\u0000" + account;
  let e = entries.get(key);
  if (e === undefined) { e = new mod.AsyncEntry(service, account, options); entries.set(key, e); }
  return e;
};
const describe = (err) => {
  const parts = [];
  for (let e = err, i = 0; e != null && i < 5; e = e.cause, i++) {
    const m = e instanceof Error ? e.message : String(e);
    if (m && !parts.some((p) => p.includes(m))) parts.push(m);
  }
  return parts.join(": ");
};
parentPort.on("message", async (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  try {
    if (loadError) throw new Error("cannot load the keyring module (" + describe(loadError) + ")");
    const e = entryFor(req.service, req.account);
    let value = null;
    if (req.op === "get") value = await e.getPassword();
    else if (req.op === "set") await e.setPassword(req.secret);
    else if (req.op === "delete") value = await e.deleteCredential();
    else throw new Error("unknown operation " + req.op);
    parentPort.postMessage({ id: req.id, ok: true, value });
  } catch (err) {
    parentPort.postMessage({ id: req.id, ok: false, message: describe(err) });
  }
});
`

/**
 * The helper's main thread: relays request lines to the worker and answers to stdout. Its main
 * thread never calls into native code, so it always notices when its parent goes away (stdin
 * closes) and then kills itself — a worker stuck in native code would block a normal exit.
 */
const HELPER_SOURCE = String.raw`
"use strict";
const { Worker } = require("node:worker_threads");
const die = () => process.kill(process.pid, "SIGKILL");
const worker = new Worker(${JSON.stringify(WORKER_SOURCE)}, { eval: true, workerData: { modulePath: process.env.CODEX_AUTH_KEYRING_MODULE } });
worker.on("message", (m) => process.stdout.write(JSON.stringify(m) + "\n"));
worker.on("error", (e) => { process.stderr.write("keyring worker failed: " + (e && e.message) + "\n"); die(); });
worker.on("exit", die);
let buf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) { const line = buf.slice(0, i); buf = buf.slice(i + 1); if (line) worker.postMessage(line); }
});
process.stdin.on("end", die);
process.stdin.on("error", die);
`

interface HelperRequest {
  readonly op: "get" | "set" | "delete"
  readonly service: string
  readonly account: string
  readonly secret?: string
}

interface Pending {
  readonly resolve: (value: unknown) => void
  readonly reject: (e: KeyringUnavailable) => void
  readonly timer: ReturnType<typeof setTimeout>
}

export interface KeyringClientOptions {
  /** Environment of the helper (D-Bus address). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** Where `@napi-rs/keyring` is; resolved from this module by default. */
  readonly modulePath?: string
  /** Replaces the helper program (tests inject faults with it). */
  readonly helperSource?: string
}

const live = new Set<KeyringClient>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const c of live) c.close()
  })
}

const resolveModule = (): string | undefined => {
  try {
    return createRequire(import.meta.url).resolve("@napi-rs/keyring")
  } catch {
    return undefined
  }
}

const fmtSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`)

/**
 * A connection to the keyring through the helper process. Calls resolve or reject with a
 * `KeyringUnavailable`; none ever outlives its timeout.
 */
export class KeyringClient {
  private child: ChildProcessWithoutNullStreams | undefined
  private readonly pending = new Map<number, Pending>()
  private seq = 0
  private buffer = ""
  private stderrTail = ""
  /** Set once the helper timed out or died: later calls fail fast with it. */
  private broken: KeyringUnavailable | undefined
  private readonly env: NodeJS.ProcessEnv
  private readonly options: KeyringClientOptions

  constructor(options: KeyringClientOptions = {}) {
    this.options = options
    this.env = options.env ?? process.env
  }

  /** The D-Bus address the helper will use (no secret in it). */
  get busAddress(): string | undefined {
    const a = this.env["DBUS_SESSION_BUS_ADDRESS"]
    return a !== undefined && a.length > 0 ? a : undefined
  }

  /**
   * Fails without spawning anything when there is obviously no session bus on Linux: no
   * DBUS_SESSION_BUS_ADDRESS and no `$XDG_RUNTIME_DIR/bus` (where libdbus would look next).
   */
  private precheck(): KeyringUnavailable | undefined {
    if (this.options.helperSource !== undefined) return undefined
    if (process.platform !== "linux" && process.platform !== "freebsd" && process.platform !== "openbsd") return undefined
    if (this.busAddress !== undefined) return undefined
    const runtime = this.env["XDG_RUNTIME_DIR"]
    if (runtime !== undefined && runtime.length > 0 && existsSync(join(runtime, "bus"))) return undefined
    return new KeyringUnavailable({
      reason: "no_dbus_session",
      detail: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set; a headless, SSH or container session?)"
    })
  }

  private fail(e: KeyringUnavailable) {
    this.broken = e
    const child = this.child
    this.child = undefined
    live.delete(this)
    if (child !== undefined) {
      try {
        child.kill("SIGKILL")
      } catch {
        // already gone
      }
    }
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(e)
    }
  }

  private ensureChild(): ChildProcessWithoutNullStreams | KeyringUnavailable {
    if (this.child !== undefined) return this.child
    const modulePath = this.options.modulePath ?? resolveModule()
    if (modulePath === undefined && this.options.helperSource === undefined) {
      return new KeyringUnavailable({ reason: "error", detail: "the @napi-rs/keyring module is not installed next to codex-auth" })
    }
    // The program travels in the environment so that `ps` shows a short, recognisable command line.
    const env: NodeJS.ProcessEnv = {
      ...this.env,
      CODEX_AUTH_KEYRING_MODULE: modulePath ?? "",
      CODEX_AUTH_KEYRING_HELPER: this.options.helperSource ?? HELPER_SOURCE
    }
    delete env["NODE_OPTIONS"]
    let child: ChildProcessWithoutNullStreams
    try {
      child = spawn(process.execPath, ["-e", "/* codex-auth keyring helper */ eval(process.env.CODEX_AUTH_KEYRING_HELPER)"], {
        env,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true
      })
    } catch (e) {
      return new KeyringUnavailable({ reason: "error", detail: `cannot start the keyring helper (${e instanceof Error ? e.message : String(e)})` })
    }
    this.child = child
    this.buffer = ""
    this.stderrTail = ""
    live.add(this)
    installExitHook()
    // Never keep this process alive: a pending request holds its own (referenced) timer.
    child.unref()
    for (const s of [child.stdin, child.stdout, child.stderr]) (s as unknown as { unref?: () => void }).unref?.()
    child.stdin.on("error", () => {})
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      this.buffer += chunk
      let i: number
      while ((i = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, i)
        this.buffer = this.buffer.slice(i + 1)
        this.onLine(line)
      }
    })
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-500)
    })
    child.on("error", (e) => {
      if (this.child === child) this.fail(new KeyringUnavailable({ reason: "error", detail: `cannot run the keyring helper (${e.message})` }))
    })
    child.on("exit", (code, signal) => {
      if (this.child !== child) return
      const why = this.stderrTail.trim().split("\n").filter(Boolean).pop()
      this.fail(new KeyringUnavailable({
        reason: "error",
        detail: `the keyring helper exited (${signal ?? `code ${code}`})${why ? `: ${why}` : ""}`
      }))
    })
    return child
  }

  private onLine(line: string) {
    let msg: { id?: unknown; ok?: unknown; value?: unknown; message?: unknown }
    try {
      msg = JSON.parse(line)
    } catch {
      return
    }
    if (typeof msg.id !== "number") return
    const p = this.pending.get(msg.id)
    if (p === undefined) return
    this.pending.delete(msg.id)
    clearTimeout(p.timer)
    if (msg.ok === true) p.resolve(msg.value)
    else p.reject(classify(typeof msg.message === "string" ? msg.message : "unknown keyring error", this.busAddress))
  }

  private request(req: HelperRequest, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
    if (this.broken !== undefined) return Promise.reject(this.broken)
    const early = this.precheck()
    if (early !== undefined) return Promise.reject(early)
    const child = this.ensureChild()
    if (child instanceof KeyringUnavailable) return Promise.reject(child)
    return new Promise((resolve, reject) => {
      const id = ++this.seq
      const timer = setTimeout(() => {
        this.fail(new KeyringUnavailable({
          reason: "timeout",
          detail: `the Secret Service did not answer within ${fmtSeconds(timeoutMs)}${this.busAddress ? ` (D-Bus ${this.busAddress})` : ""}`
        }))
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      signal?.addEventListener("abort", () => {
        if (!this.pending.delete(id)) return
        clearTimeout(timer)
        reject(new KeyringUnavailable({ reason: "error", detail: "interrupted" }))
      }, { once: true })
      child.stdin.write(`${JSON.stringify({ id, ...req })}\n`)
    })
  }

  /** The secret, or `null` when there is no entry. */
  get(service: string, account: string, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
    return this.request({ op: "get", service, account }, timeoutMs, signal).then((v) => (typeof v === "string" ? v : null))
  }

  set(service: string, account: string, secret: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.request({ op: "set", service, account, secret }, timeoutMs, signal).then(() => undefined)
  }

  /** `true` when an entry was deleted, `false` when there was none. */
  delete(service: string, account: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.request({ op: "delete", service, account }, timeoutMs, signal).then((v) => v === true)
  }

  /** Kills the helper (idempotent). Pending calls fail. */
  close() {
    if (this.child === undefined) return
    const child = this.child
    this.child = undefined
    live.delete(this)
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      this.pending.delete(id)
      p.reject(new KeyringUnavailable({ reason: "error", detail: "the keyring connection was closed" }))
    }
    try {
      child.kill("SIGKILL")
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Keyring access as Effects (shared by the keyring and auto stores)
// ---------------------------------------------------------------------------------------------

export interface KeyringOptions {
  readonly codexHome: string
  /** Timeout of each keyring read/delete (ms). Default: CODEX_AUTH_KEYRING_TIMEOUT_MS, else 3000. */
  readonly timeoutMs?: number
  /** Timeout of each keyring write (ms). Default: CODEX_AUTH_KEYRING_TIMEOUT_MS, else 5000. */
  readonly writeTimeoutMs?: number
  /** How long to wait for the cross-process lock (`auth.json.lock`). Default 30 s. */
  readonly lockTimeoutMs?: number
  /** Environment for the keyring helper (D-Bus address); default `process.env`. */
  readonly env?: NodeJS.ProcessEnv
  /** Testing hook: replaces the helper program. */
  readonly helperSource?: string
}

const envTimeout = (env: NodeJS.ProcessEnv): number | undefined => {
  const raw = env["CODEX_AUTH_KEYRING_TIMEOUT_MS"]
  if (raw === undefined || raw.trim() === "") return undefined
  const n = Number(raw)
  return Number.isFinite(n) && n > 0 ? Math.round(n) : undefined
}

/** The keyring entry of one CODEX_HOME, as Effects that fail with `KeyringUnavailable`. */
export interface KeyringAccess {
  readonly service: string
  /** The account for the CODEX_HOME as it is now (canonical path, like Codex). */
  readonly account: () => string
  /** `Codex Auth / cli|…` (for error messages, which name the backend already). */
  readonly entry: () => string
  /** `keyring: Codex Auth / cli|…` (for `StoreInfo.location` and remove reports). */
  readonly location: () => string
  readonly read: Effect.Effect<Option.Option<string>, KeyringUnavailable>
  /** Writes, then reads back and compares; a difference is a failure. */
  readonly write: (secret: string) => Effect.Effect<void, KeyringUnavailable>
  /** `true` when an entry was deleted. */
  readonly erase: Effect.Effect<boolean, KeyringUnavailable>
  readonly client: KeyringClient
}

const toUnavailable = (e: unknown): KeyringUnavailable =>
  e instanceof KeyringUnavailable ? e : new KeyringUnavailable({ reason: "error", detail: e instanceof Error ? e.message : String(e) })

export const makeAccess = (options: KeyringOptions): KeyringAccess => {
  const env = options.env ?? process.env
  const fromEnv = envTimeout(env)
  const readTimeout = options.timeoutMs ?? fromEnv ?? 3_000
  const writeTimeout = options.writeTimeoutMs ?? fromEnv ?? 5_000
  const client = new KeyringClient({
    env,
    ...(options.helperSource !== undefined ? { helperSource: options.helperSource } : {})
  })
  const service = KEYRING_SERVICE
  const account = () => keyringAccount(options.codexHome)
  const call = <A>(f: (signal: AbortSignal) => Promise<A>) => Effect.tryPromise({ try: f, catch: toUnavailable })
  const getRaw = (acct: string) => call((signal) => client.get(service, acct, readTimeout, signal))
  /**
   * Some Codex builds split long secrets into `CODEX_CHUNKED:<n>:<first part>` plus entries
   * `<account>:1` … `<account>:<n-1>` (Codex 0.169 does not; it stores one item). Read those too.
   */
  const chunkCount = (value: string): number | undefined => {
    const m = /^CODEX_CHUNKED:(\d+):/.exec(value)
    return m ? Number(m[1]) : undefined
  }
  const read = Effect.gen(function*() {
    const acct = account()
    const main = yield* getRaw(acct)
    if (main === null) return Option.none<string>()
    const count = chunkCount(main)
    if (count === undefined) return Option.some(main)
    let full = main.slice(main.indexOf(":", "CODEX_CHUNKED:".length) + 1)
    for (let i = 1; i < count; i++) {
      const part = yield* getRaw(`${acct}:${i}`)
      if (part === null) {
        return yield* new KeyringUnavailable({ reason: "error", detail: `the keyring entry is split into ${count} parts and part ${i} is missing` })
      }
      full += part
    }
    return Option.some(full)
  })
  const write = (secret: string) =>
    Effect.gen(function*() {
      const acct = account()
      yield* call((signal) => client.set(service, acct, secret, writeTimeout, signal))
      const back = yield* call((signal) => client.get(service, acct, readTimeout, signal))
      if (back !== secret) {
        return yield* new KeyringUnavailable({
          reason: "error",
          detail: back === null
            ? "the keyring accepted the credentials but reading them back found nothing"
            : "the keyring accepted the credentials but reading them back returned different content"
        })
      }
    })
  const erase = Effect.gen(function*() {
    const acct = account()
    const main = yield* getRaw(acct)
    const count = main === null ? undefined : chunkCount(main)
    for (let i = 1; count !== undefined && i < count; i++) {
      const part = `${acct}:${i}`
      yield* call((signal) => client.delete(service, part, readTimeout, signal))
    }
    return yield* call((signal) => client.delete(service, acct, readTimeout, signal))
  })
  return {
    service,
    account,
    entry: () => `${service} / ${account()}`,
    location: () => `keyring: ${service} / ${account()}`,
    read,
    write,
    erase,
    client
  }
}

/**
 * Parses a keyring secret into a document (a corrupt one names the keyring entry). A secret above
 * 1 MiB (`AuthFile.MAX_AUTH_FILE_BYTES`, as for auth.json) is refused unparsed: a `StorageError`.
 */
export const parseSecret = (
  text: string,
  location: string
): Effect.Effect<AuthDotJson.AuthDocument, Errors.StorageError | Errors.CorruptCredentials> => {
  const size = Buffer.byteLength(text, "utf8")
  if (size > AuthFile.MAX_AUTH_FILE_BYTES) {
    return Effect.fail(
      new Errors.StorageError({
        backend: "keyring",
        operation: "read",
        location: location.replace(/^keyring: /, ""),
        detail: `the secret is ${size} bytes, more than the 1 MiB a credentials document can be; it was not parsed`,
        suggestion: "Remove the keyring entry (`codex-auth logout --local-only`), then sign in again with `codex-auth login`."
      })
    )
  }
  const parsed = AuthDotJson.parse(text, location)
  return Result.isSuccess(parsed) ? Effect.succeed(parsed.success) : Effect.fail(parsed.failure)
}

/** Warns (does not fail) when a leftover auth.json could not be removed after a keyring save. */
export const warnLeftover = (e: Errors.StorageError) =>
  Effect.sync(() =>
    process.emitWarning(`the credentials are in the keyring, but the old file could not be removed: ${e.detail} (${e.location})`, {
      code: "CODEX_AUTH_KEYRING_LEFTOVER"
    })
  )

const storageError = (operation: Errors.StorageOperation, location: string, e: KeyringUnavailable) =>
  new Errors.StorageError({
    backend: "keyring",
    operation,
    location,
    detail: `the keyring is unavailable (${e.reason}): ${e.detail}`,
    suggestion: suggestionFor(e.reason)
  })

/** Reasons that mean "there is no keyring in this session at all", so nothing can be stored there. */
export const noKeyringHere = (e: KeyringUnavailable): boolean => e.reason === "no_dbus_session" || e.reason === "service_absent"

/**
 * What erasing the keyring entry at `location` did, as a removal report. A failure for which
 * `countAsAbsent` holds (no keyring can exist in this session) is reported as absent rather than
 * failed.
 */
export const keyringEraseReport = (
  location: string,
  erased: Result.Result<boolean, KeyringUnavailable>,
  countAsAbsent: (e: KeyringUnavailable) => boolean = () => false
): CredentialStore.RemoveReport => {
  if (Result.isSuccess(erased)) return erased.success ? { removed: [location], absent: [], failed: [] } : { removed: [], absent: [location], failed: [] }
  const e = erased.failure
  return countAsAbsent(e)
    ? { removed: [], absent: [`${location} (no keyring in this session: ${e.reason})`], failed: [] }
    : { removed: [], absent: [], failed: [{ location, detail: `the keyring is unavailable (${e.reason}): ${e.detail}` }] }
}

/** Both reports, `first`'s entries before `second`'s. */
export const mergeRemoveReports = (first: CredentialStore.RemoveReport, second: CredentialStore.RemoveReport): CredentialStore.RemoveReport => ({
  removed: [...first.removed, ...second.removed],
  absent: [...first.absent, ...second.absent],
  failed: [...first.failed, ...second.failed]
})

/**
 * Erases this CODEX_HOME's keyring entry and its auth.json (the caller holds the credential lock)
 * and reports each. A keyring failure for which `countAsAbsent` holds (auto mode: no keyring can
 * exist in this session) is reported as absent rather than failed.
 */
export const eraseKeyringAndFile = (
  keyring: KeyringAccess,
  file: CredentialStore.CredentialStoreShape,
  authPath: string,
  countAsAbsent: (e: KeyringUnavailable) => boolean = () => false
): Effect.Effect<{ readonly report: CredentialStore.RemoveReport; readonly keyringFailure: KeyringUnavailable | undefined }> =>
  Effect.gen(function*() {
    const fromKeyring = yield* Effect.result(keyring.erase)
    const fromFile = yield* Effect.result(file.remove)
    const report = mergeRemoveReports(
      keyringEraseReport(keyring.location(), fromKeyring, countAsAbsent),
      Result.isSuccess(fromFile) ? fromFile.success : { removed: [], absent: [], failed: [{ location: authPath, detail: fromFile.failure.detail }] }
    )
    return { report, keyringFailure: Result.isFailure(fromKeyring) ? fromKeyring.failure : undefined }
  })

/**
 * When a refresh waiter re-reads a keyring (which has no cheap change marker): every 250 ms, not
 * at every attempt on the lock, since each read is a round trip to the Secret Service.
 */
export const keyringChangeSignal: Effect.Effect<string> = Effect.sync(() => `keyring:${Math.floor(Date.now() / 250)}`)

/** Builds the keyring-mode `CredentialStore`. */
export const makeKeyringStore = (options: KeyringOptions) =>
  Effect.gen(function*() {
    const file = yield* FileStore.makeFileStore(options)
    const keyring = makeAccess(options)
    const authPath = AuthFile.authFilePath(options.codexHome)

    const load = Effect.gen(function*() {
      const text = yield* keyring.read.pipe(Effect.mapError((e) => storageError("read", keyring.entry(), e)))
      if (Option.isNone(text)) return Option.none<AuthDotJson.AuthDocument>()
      return Option.some(yield* parseSecret(text.value, keyring.location()))
    })

    const save = (doc: AuthDotJson.AuthDocument) =>
      file.withLock(Effect.gen(function*() {
        yield* keyring.write(AuthDotJson.toCompactText(doc)).pipe(Effect.mapError((e) => storageError("write", keyring.entry(), e)))
        // Like Codex: once the keyring holds the credentials, a plaintext auth.json must go.
        yield* file.remove.pipe(Effect.asVoid, Effect.catch(warnLeftover))
      }))

    const remove = file.withLock(Effect.gen(function*() {
      const { keyringFailure, report } = yield* eraseKeyringAndFile(keyring, file, authPath)
      if (report.removed.length === 0 && report.failed.length > 0) {
        return yield* (keyringFailure !== undefined
          ? storageError("delete", keyring.entry(), keyringFailure)
          : new Errors.StorageError({ backend: "keyring", operation: "delete", location: keyring.entry(), detail: report.failed.map((f) => f.detail).join("; ") }))
      }
      return report
    }))

    return CredentialStore.CredentialStore.of({
      info: Effect.sync(() => ({ mode: "keyring", backend: "keyring", location: keyring.location(), fallbackReason: undefined })),
      load,
      save,
      // The lock files live in CODEX_HOME (its owner is checked, as for the file store); the keyring must answer.
      probeWrite: Effect.flatMap(FileStore.ensureHome(options.codexHome), () =>
        keyring.read.pipe(Effect.mapError((e) => storageError("write", keyring.entry(), e)), Effect.asVoid)),
      remove,
      withLock: file.withLock,
      withRefreshLock: yield* FileStore.makeRefreshLock(options, keyringChangeSignal),
      // No cheap change marker in a keyring: a fresh value on every call makes readers re-read.
      fingerprint: Effect.sync(() => `keyring:${process.hrtime.bigint()}`)
    })
  })

/** The keyring-mode `CredentialStore` for a CODEX_HOME. */
export const layer = (options: KeyringOptions): Layer.Layer<CredentialStore.CredentialStore> =>
  Layer.effect(CredentialStore.CredentialStore, makeKeyringStore(options))

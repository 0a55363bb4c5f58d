/**
 * Drives the real Codex CLI (`@openai/codex` from npm) for fidelity tests against the mock
 * issuer: long-running `codex` processes whose output a test waits on, a minimal JSON-RPC client
 * for `codex app-server` (its browser login honours `CODEX_APP_SERVER_LOGIN_ISSUER`; plain
 * `codex login` in 0.169 always uses auth.openai.com for the browser flow), and auth.json
 * helpers.
 *
 * Everything here is asynchronous on purpose: a synchronous spawn would block the event loop of
 * the test process, and with it an in-process mock issuer.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { cleanEnv, codexBin, tempCodexHome } from "./Cli.ts"

/** Removes ANSI escape sequences (the CLI colours its device-code prompt). */
export const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")

/** A CODEX_HOME that exists (the real CLI refuses a missing one). */
export const existingCodexHome = (): string => {
  const home = tempCodexHome()
  mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}

export interface CodexProcess {
  readonly child: ChildProcessWithoutNullStreams
  /** stdout and stderr so far, interleaved, ANSI stripped. */
  readonly output: () => string
  /** Resolves with the first match of `pattern` in the output; rejects on timeout or exit. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly output: string }>
  readonly kill: () => void
}

/** Starts `codex ARGS` with a clean environment plus `env`, in `cwd` (default the temp dir), `input` on stdin. */
export const startCodex = (
  args: ReadonlyArray<string>,
  options: { readonly env: Record<string, string | undefined>; readonly cwd?: string; readonly timeoutMs?: number; readonly input?: string }
): CodexProcess => {
  const child = spawn(codexBin, [...args], { env: cleanEnv(options.env), cwd: options.cwd ?? "/tmp", stdio: ["pipe", "pipe", "pipe"] })
  let text = ""
  const listeners = new Set<() => void>()
  const onData = (d: Buffer) => {
    text += d.toString("utf8")
    for (const l of listeners) l()
  }
  child.stdout.on("data", onData)
  child.stderr.on("data", onData)
  const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(killer)
      for (const l of listeners) l()
      resolve({ code, signal, output: stripAnsi(text) })
    })
  )
  let exited = false
  void exit.then(() => (exited = true))
  const output = () => stripAnsi(text)
  const waitFor = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(output())
        if (m !== null) {
          cleanup()
          resolve(m)
        } else if (exited) {
          cleanup()
          reject(new Error(`codex exited before printing ${pattern}:\n${output()}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`codex did not print ${pattern} within ${timeoutMs} ms:\n${output()}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  child.stdin.end(options.input)
  return { child, output, waitFor, exit, kill: () => child.kill("SIGKILL") }
}

/** Runs `codex ARGS` to completion (asynchronously). */
export const runCodexAsync = (args: ReadonlyArray<string>, options: { readonly env: Record<string, string | undefined>; readonly cwd?: string; readonly timeoutMs?: number }) =>
  startCodex(args, options).exit

export interface AppServer {
  readonly request: (method: string, params?: unknown, timeoutMs?: number) => Promise<any>
  /** Resolves with the params of the first notification `method` (past or future) matching `predicate`. */
  readonly notification: (method: string, predicate?: (params: any) => boolean, timeoutMs?: number) => Promise<any>
  readonly stderr: () => string
  readonly close: () => Promise<void>
}

/** Starts `codex app-server` (JSON-RPC over stdio) and initializes it. */
export const startAppServer = async (options: { readonly env: Record<string, string | undefined>; readonly cwd?: string }): Promise<AppServer> => {
  const child = spawn(codexBin, ["app-server"], { env: cleanEnv(options.env), cwd: options.cwd ?? "/tmp", stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")))
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  const notifications: Array<{ method: string; params: any }> = []
  const waiters = new Set<() => void>()
  const closed = new Promise<void>((resolve) => child.on("close", () => resolve()))
  createInterface({ input: child.stdout }).on("line", (line) => {
    let msg: any
    try {
      msg = JSON.parse(line)
    } catch {
      return
    }
    if (typeof msg.id === "number" && pending.has(msg.id)) {
      const p = pending.get(msg.id)!
      pending.delete(msg.id)
      if (msg.error !== undefined) p.reject(new Error(`app-server error ${msg.error.code}: ${msg.error.message}`))
      else p.resolve(msg.result)
    } else if (typeof msg.method === "string") {
      notifications.push({ method: msg.method, params: msg.params })
      for (const w of waiters) w()
    }
  })
  let nextId = 1
  const send = (o: unknown) => child.stdin.write(`${JSON.stringify(o)}\n`)
  const request = (method: string, params?: unknown, timeoutMs = 20_000) =>
    new Promise<any>((resolve, reject) => {
      const id = nextId++
      const timer = setTimeout(() => {
        pending.delete(id)
        reject(new Error(`app-server did not answer ${method} within ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`))
      }, timeoutMs)
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        }
      })
      send({ jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
    })
  const notification = (method: string, predicate: (params: any) => boolean = () => true, timeoutMs = 20_000) =>
    new Promise<any>((resolve, reject) => {
      const check = () => {
        const found = notifications.find((n) => n.method === method && predicate(n.params))
        if (found !== undefined) {
          cleanup()
          resolve(found.params)
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`no ${method} notification within ${timeoutMs} ms; got ${notifications.map((n) => n.method).join(", ")}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })
  await request("initialize", { clientInfo: { name: "codex-auth-e2e", version: "0.1.0" } })
  send({ jsonrpc: "2.0", method: "initialized" })
  return {
    request,
    notification,
    stderr: () => stderr,
    close: async () => {
      child.stdin.end()
      child.kill("SIGTERM")
      const killer = setTimeout(() => child.kill("SIGKILL"), 3000)
      await closed
      clearTimeout(killer)
    }
  }
}

export interface ChatgptTokens {
  readonly id_token: string
  readonly access_token: string
  readonly refresh_token: string
  readonly account_id: string
}

/** Writes a ChatGPT auth.json (mode 0600) as the real CLI writes it. */
export const writeChatgptAuth = (codexHome: string, tokens: ChatgptTokens, lastRefresh: Date = new Date()): void => {
  const doc = {
    auth_mode: "chatgpt",
    OPENAI_API_KEY: null,
    tokens: { id_token: tokens.id_token, access_token: tokens.access_token, refresh_token: tokens.refresh_token, account_id: tokens.account_id },
    last_refresh: lastRefresh.toISOString()
  }
  writeFileSync(`${codexHome}/auth.json`, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600 })
}

/** Reads `$CODEX_HOME/auth.json`. */
export const readAuth = (codexHome: string): any => JSON.parse(readFileSync(`${codexHome}/auth.json`, "utf8"))

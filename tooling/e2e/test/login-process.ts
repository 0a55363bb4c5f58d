/**
 * Helpers for the sign-in e2e tests (`login-*.test.ts`, `worker-*.test.ts`): a long-running
 * built `codex-auth` or worker process a test can read from (stdout and stderr apart), type
 * into, interrupt and wait for. Asynchronous throughout, so an in-process mock issuer keeps
 * serving while the child runs.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { cleanEnv, cliPath, repoRoot, workerPath } from "../src/Cli.ts"

export interface Running {
  readonly child: ChildProcessWithoutNullStreams
  readonly stdout: () => string
  readonly stderr: () => string
  /** First match of `pattern` in stderr (or stdout with `stream: "stdout"`). */
  readonly waitFor: (pattern: RegExp, options?: { readonly stream?: "stdout" | "stderr"; readonly timeoutMs?: number }) => Promise<RegExpExecArray>
  readonly write: (text: string) => void
  readonly exit: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stdout: string; readonly stderr: string }>
}

const start = (script: string, args: ReadonlyArray<string>, env: Record<string, string | undefined>, timeoutMs: number): Running => {
  if (!existsSync(script)) throw new Error(`${script} does not exist: build it first (pnpm turbo run build)`)
  const child = spawn(process.execPath, [script, ...args], { env: cleanEnv(env), cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] })
  let out = ""
  let err = ""
  let exited = false
  const listeners = new Set<() => void>()
  const notify = () => {
    for (const l of listeners) l()
  }
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d
    notify()
  })
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d
    notify()
  })
  child.stdin.on("error", () => {})
  const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(killer)
      exited = true
      notify()
      resolve({ code, signal, stdout: out, stderr: err })
    })
  )
  const waitFor = (pattern: RegExp, options: { readonly stream?: "stdout" | "stderr"; readonly timeoutMs?: number } = {}) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const text = () => (options.stream === "stdout" ? out : err)
      const check = () => {
        const m = pattern.exec(text())
        if (m !== null) {
          cleanup()
          resolve(m)
        } else if (exited) {
          cleanup()
          reject(new Error(`exited before printing ${pattern}:\nstdout:\n${out}\nstderr:\n${err}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`did not print ${pattern} within ${options.timeoutMs ?? 15_000} ms:\nstdout:\n${out}\nstderr:\n${err}`))
      }, options.timeoutMs ?? 15_000)
      const cleanup = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      check()
    })
  return { child, stdout: () => out, stderr: () => err, waitFor, write: (t) => void child.stdin.write(t), exit }
}

/** Starts the built `codex-auth ARGS`. */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, timeoutMs = 60_000) =>
  start(cliPath, args, env, timeoutMs)

/** Starts the built device-login worker. */
export const startWorker = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}, timeoutMs = 60_000) =>
  start(workerPath, args, env, timeoutMs)

/** The authorize URL a `login` printed (stderr). */
export const authorizeUrlOf = async (running: Running, issuer: string): Promise<URL> => {
  const escaped = issuer.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  const m = await running.waitFor(new RegExp(`${escaped}/oauth/authorize\\?\\S+`))
  return new URL(m[0])
}

/** The user code a device login printed (stderr). */
export const userCodeOf = async (running: Running): Promise<string> => (await running.waitFor(/\b([A-Z0-9]{4}-[A-Z0-9]{4})\b/))[1]!

/** Decoded claims of a JWT (no verification). */
export const claimsOf = (jwt: string): Record<string, any> => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8"))

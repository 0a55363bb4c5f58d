/**
 * Runs the built `codex-auth` bundle (apps/cli/dist/codex-auth.mjs) as a user would, in a child
 * process with its own environment, and collects what it printed.
 */
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
export const cliPath = join(repoRoot, "apps/cli/dist/codex-auth.mjs")
export const workerPath = join(repoRoot, "apps/device-login-worker/dist/codex-auth-device-login-worker.mjs")
export const harnessPath = join(repoRoot, "apps/harness/dist/codex-auth-harness.mjs")

export interface RunResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>
  readonly input?: string
  readonly timeoutMs?: number
  readonly cwd?: string
}

/** A fresh temporary CODEX_HOME (not created: codex-auth must create it 0700). */
export const tempCodexHome = (): string => join(mkdtempSync(join(tmpdir(), "codex-auth-e2e-")), "codex-home")

/** The environment a test child gets: the parent's PATH/HOME, no auth-affecting variables unless given. */
export const cleanEnv = (extra: Record<string, string | undefined> = {}): Record<string, string> => {
  const base: Record<string, string | undefined> = {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    LANG: "C.UTF-8",
    NODE_COMPILE_CACHE: process.env["NODE_COMPILE_CACHE"],
    DBUS_SESSION_BUS_ADDRESS: process.env["DBUS_SESSION_BUS_ADDRESS"],
    ...extra
  }
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(base)) if (v !== undefined) out[k] = v
  return out
}

/** Runs any program with a clean environment (see `cleanEnv`), feeding `input` on stdin. */
export const runProgram = (program: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<RunResult> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(program, [...args], {
      env: cleanEnv(options.env),
      cwd: options.cwd ?? repoRoot,
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })

/** Runs a Node script with this Node. */
export const runNode = (script: string, args: ReadonlyArray<string>, options: RunOptions = {}): Promise<RunResult> =>
  existsSync(script)
    ? runProgram(process.execPath, [script, ...args], options)
    : Promise.reject(new Error(`${script} does not exist: build it first (pnpm turbo run build)`))

/** The real Codex CLI from npm (@openai/codex, a dev dependency of this package). */
export const codexBin = join(repoRoot, "tooling/e2e/node_modules/.bin/codex")

/** Runs the real `codex <args>`. */
export const runCodex = (args: ReadonlyArray<string>, options: RunOptions = {}) => runProgram(codexBin, args, options)

/** Runs `codex-auth <args>`. */
export const runCli = (args: ReadonlyArray<string>, options: RunOptions = {}) => runNode(cliPath, args, options)

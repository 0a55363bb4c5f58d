/**
 * Runs the bundled `codex-auth-harness` (what users run) for the tests: rebuilds the bundle
 * when a source file is newer, starts `serve` and waits for its banner.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..")
export const bin = join(appDir, "dist", "codex-auth-harness.mjs")
export const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"

const newestMtime = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs)
  }, 0)

/** Builds `dist/codex-auth-harness.mjs` if it is missing or older than the harness or mock-server sources. */
export const ensureBundle = (): void => {
  const sources = Math.max(newestMtime(join(appDir, "src")), newestMtime(join(appDir, "..", "..", "packages", "mock-server", "src")))
  let built = 0
  try {
    built = statSync(bin).mtimeMs
  } catch {
    built = 0
  }
  if (built < sources) execFileSync(process.execPath, ["build.mjs"], { cwd: appDir, stdio: "inherit" })
}

export interface Served {
  readonly child: ChildProcessWithoutNullStreams
  readonly lines: ReadonlyArray<string>
  readonly issuer: string
  readonly ca: string | undefined
  readonly exit: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>
}

/** Starts `codex-auth-harness serve ARGS` and resolves once it printed its banner. */
export const serve = (args: ReadonlyArray<string>): Promise<Served> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "serve", ...args], { stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let ready = false
    const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on("exit", (code) => r({ code, stdout, stderr })))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`harness did not print its banner in 10 s:\n${stdout}\n${stderr}`))
    }, 10_000)
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString()
      if (!ready && stdout.includes("Press Ctrl-C to stop.")) {
        ready = true
        clearTimeout(timer)
        const lines = stdout.split("\n")
        const issuer = lines.find((l) => l.startsWith("Issuer: "))!.slice("Issuer: ".length)
        const ca = lines.find((l) => l.startsWith("CA: "))?.slice("CA: ".length)
        resolve({ child, lines, issuer, ca, exit })
      }
    })
    void exit.then(({ code }) => {
      clearTimeout(timer)
      if (!ready) reject(new Error(`harness exited (${code}) before serving:\n${stdout}\n${stderr}`))
    })
  })

/** Runs the harness to completion. */
export const run = (args: ReadonlyArray<string>) => spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 15_000 })

export const post = (url: string, body: unknown) => fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

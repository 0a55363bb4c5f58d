/**
 * The credential locks seen from outside, on the built CLI and real processes:
 *
 * - A refreshing `token` and `login --with-api-key` each run as **one process**: strace sees a
 *   single `execve` (node itself), so no program is started to lock; the refresh lock is opened
 *   and taken once per process, also when the run goes lean → full CLI or fast → full CLI.
 * - **kill -9 of a lock holder**: a `token` process holding the refresh lock across a refresh POST
 *   that the mock holds open is killed; the lock is free the moment its exit is reported, 20 runs
 *   of 20 while two CPU burners load the 2-core machine.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import * as CodexHome from "@codex-auth/storage/CodexHome"
import * as LockFile from "@codex-auth/storage/LockFile"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, runProgram } from "../src/Cli.ts"
import { existingCodexHome, writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer
const homes: Array<string> = []

beforeAll(async () => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(async () => {
  await mock?.close()
  for (const h of homes) rmSync(dirname(h), { recursive: true, force: true })
})

const expiredSession = async (config?: string) => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  const codexHome = existingCodexHome()
  homes.push(codexHome)
  writeChatgptAuth(codexHome, tokens, new Date(Date.now() - 3600_000))
  if (config !== undefined) await import("node:fs").then((fs) => fs.writeFileSync(join(codexHome, "config.toml"), config))
  return {
    tokens,
    codexHome,
    env: {
      CODEX_HOME: codexHome,
      CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token`,
      CODEX_MANAGED_CONFIG_PATH: join(codexHome, "no-managed.toml"),
      CODEX_REQUIREMENTS_PATH: join(codexHome, "no-requirements.toml")
    }
  }
}

/** Runs the CLI under `strace -f`, tracing program starts and the lock calls; returns the trace lines. */
const traced = async (args: ReadonlyArray<string>, env: Record<string, string>, input?: string) => {
  const out = join(env["CODEX_HOME"]!, "..", "strace.txt")
  const r = await runProgram("strace", ["-f", "-qq", "-e", "trace=execve,execveat,openat,flock", "-o", out, process.execPath, cliPath, ...args], {
    env,
    ...(input !== undefined ? { input } : {}),
    timeoutMs: 60_000
  })
  const lines = readFileSync(out, "utf8").split("\n").filter((l) => l.length > 0)
  return { r, lines }
}

/** `execve` calls that started a program (strace -f prints one per successful exec). */
const execs = (lines: ReadonlyArray<string>) => lines.filter((l) => /\bexecve(at)?\(/.test(l) && !l.includes("resumed") && !/= -1 /.test(l))

/** How often the lock file named `name` was opened, and how many LOCK_EX|LOCK_NB calls on those descriptors succeeded. */
const lockCalls = (lines: ReadonlyArray<string>, name: string) => {
  const fds = new Set<string>()
  let opens = 0
  let taken = 0
  for (const l of lines) {
    const open = new RegExp(`^(\\d+)\\s+openat\\([^"]*"[^"]*/${name.replace(/\./g, "\\.")}".* = (\\d+)$`).exec(l)
    if (open) {
      opens++
      fds.add(`${open[1]}:${open[2]}`)
      continue
    }
    const f = /^(\d+)\s+flock\((\d+), LOCK_EX\|LOCK_NB\)\s+= 0/.exec(l)
    if (f && fds.has(`${f[1]}:${f[2]}`)) taken++
  }
  return { opens, taken }
}

describe("one process, no program started to lock", () => {
  it("a refreshing `token` (lean path → full CLI): one execve, the refresh lock taken once, Codex's commit locks once each", async () => {
    await mock.control.reset()
    const { env } = await expiredSession()
    const { lines, r } = await traced(["token"], env)
    expect(r.code, r.stderr).toBe(0)
    expect((await mock.requests()).filter((q) => q.kind === "refresh_token")).toHaveLength(1)
    expect(execs(lines), "only node itself was executed").toHaveLength(1)
    expect(lockCalls(lines, "codex-auth-refresh.lock")).toEqual({ opens: 1, taken: 1 })
    expect(lockCalls(lines, "auth.lock")).toEqual({ opens: 1, taken: 1 })
    expect(lockCalls(lines, "auth.json.lock")).toEqual({ opens: 1, taken: 1 })
  })

  it("a refreshing `token` on the auto store (fast path → full CLI): the parked refresh lock is taken over, not taken twice", async () => {
    await mock.control.reset()
    const { env, codexHome } = await expiredSession("cli_auth_credentials_store = \"auto\"\n")
    const { lines, r } = await traced(["token"], { ...env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(codexHome, "no-bus")}` })
    expect(r.code, r.stderr).toBe(0)
    expect((await mock.requests()).filter((q) => q.kind === "refresh_token")).toHaveLength(1)
    expect(lockCalls(lines, "codex-auth-refresh.lock")).toEqual({ opens: 1, taken: 1 })
    // The auto store asks the keyring through its helper process (node -e …); nothing else starts.
    const others = execs(lines).slice(1).filter((l) => !l.includes(process.execPath) || !/"-e", "\/\* codex-auth keyring helper/.test(l))
    expect(others, "no program but node and the keyring helper").toEqual([])
  })

  it("`login --with-api-key`: one execve, Codex's commit locks once each, no refresh lock", async () => {
    const codexHome = existingCodexHome()
    homes.push(codexHome)
    const { lines, r } = await traced(["login", "--with-api-key"], cleanEnv({ CODEX_HOME: codexHome }), "sk-test-strace-0123456789abcdef\n")
    expect(r.code, r.stderr).toBe(0)
    expect(execs(lines)).toHaveLength(1)
    expect(lockCalls(lines, "auth.lock")).toEqual({ opens: 1, taken: 1 })
    expect(lockCalls(lines, "auth.json.lock")).toEqual({ opens: 1, taken: 1 })
    expect(lockCalls(lines, "codex-auth-refresh.lock").opens).toBe(0)
  })
})

/** Two busy loops of our own, stopped by pid at the end: the machine is loaded while the kills run. */
const burners = (): Array<ChildProcess> =>
  [0, 1].map(() => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }))

describe("kill -9 of a lock holder", () => {
  it("the refresh lock is free the moment a killed holder's exit is reported: 20 of 20 runs on a loaded machine", async () => {
    const load = burners()
    const results: Array<boolean> = []
    try {
      for (let run = 0; run < 20; run++) {
        await mock.control.reset()
        const { env, codexHome } = await expiredSession()
        await mock.control.setFaults("refresh", [{ latencyMs: 60_000 }])
        const holder = spawn(process.execPath, [cliPath, "token"], { env: cleanEnv(env), stdio: "ignore" })
        const exited = new Promise<void>((resolve) => holder.once("exit", () => resolve()))
        // It holds the refresh lock across the POST (which the mock holds open): wait until the
        // lock is busy twice in a row, 200 ms apart (a probe that wins releases at once).
        const lockPath = CodexHome.refreshLockPath(codexHome)
        const busy = () => {
          const probe = LockFile.tryAcquire(lockPath, { mode: 0o600 })
          probe?.release()
          return probe === undefined
        }
        const deadline = Date.now() + 30_000
        for (;;) {
          if (Date.now() > deadline) throw new Error(`run ${run}: the holder never held the refresh lock`)
          if (busy()) {
            await new Promise((r) => setTimeout(r, 200))
            if (busy()) break
          }
          await new Promise((r) => setTimeout(r, 20))
        }
        holder.kill("SIGKILL")
        await exited
        const next = LockFile.tryAcquire(lockPath, { mode: 0o600 })
        results.push(next !== undefined)
        next?.release()
        await mock.control.clearFaults()
      }
    } finally {
      for (const b of load) b.kill("SIGKILL")
    }
    expect(results.filter(Boolean).length).toBe(20)
  }, 240_000)
})

/**
 * Hardening II on the built CLI, real processes:
 *
 * - **Own files only**: auth.json a symbolic link to a file that is not a credentials document —
 *   every command leaves the target byte- and mode-identical; a CODEX_HOME of another user (the
 *   CLI run as uid 65534 where this machine lets the test switch users) is refused before
 *   anything is created in it.
 * - **No refresh that cannot be saved**: an unwritable CODEX_HOME (mode 500, as a non-root user)
 *   and a full disk (a 256 KiB tmpfs, where this machine lets the test mount one) make `token`
 *   fail with exit 5 before any refresh POST; once fixed, the next run refreshes with the same,
 *   unspent refresh token.
 * - **Finish what was sent**: SIGTERM while the refresh POST is out (the mock holds it 2 s): the
 *   process waits for the answer, saves it, exits 130; the next run needs no refresh.
 * - **One truth**: `{"auth_mode":"chatgpt","tokens":null}` is "not logged in" for status and token.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, runCli, tempCodexHome } from "../src/Cli.ts"
import { writeChatgptAuth } from "../src/RealCodex.ts"

let mock: RunningMockIssuer
const roots: Array<string> = []
const mounts: Array<string> = []

beforeAll(async () => {
  if (!fs.existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
})
afterAll(async () => {
  await mock?.close()
  for (const m of mounts) spawnSync("umount", [m])
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true })
})

const newHome = (create = true) => {
  const home = tempCodexHome()
  roots.push(dirname(home))
  if (create) fs.mkdirSync(home, { mode: 0o700 })
  return home
}

const NOBODY = 65534
const isRoot = process.getuid?.() === 0

/** The CLI as uid/gid `as` (the test runs as root), with its own HOME. */
const runAs = (as: number, args: ReadonlyArray<string>, env: Record<string, string>, input?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const home = fs.mkdtempSync(join(tmpdir(), "codex-auth-e2e-home-"))
    roots.push(home)
    fs.chownSync(home, as, as)
    const child = spawn(process.execPath, [cliPath, ...args], { env: cleanEnv({ HOME: home, ...env }), uid: as, gid: as, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(input)
  })

const snapshot = (path: string) => ({ bytes: fs.readFileSync(path).toString("base64"), mode: fs.statSync(path).mode, uid: fs.statSync(path).uid })

const expiredSession = async (home: string) => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  writeChatgptAuth(home, tokens, new Date(Date.now() - 3600_000))
  return {
    tokens,
    env: {
      CODEX_HOME: home,
      CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token`,
      CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke`,
      CODEX_MANAGED_CONFIG_PATH: join(home, "..", "no-managed.toml"),
      CODEX_REQUIREMENTS_PATH: join(home, "..", "no-requirements.toml")
    }
  }
}

/** An expired session in a CODEX_HOME of uid 65534's, mode 500 (it can read, not write); a fresh mock. */
const nobodysReadOnlySession = async () => {
  await mock.control.reset()
  const home = newHome()
  const session = await expiredSession(home)
  fs.chmodSync(dirname(home), 0o755)
  fs.chownSync(home, NOBODY, NOBODY)
  fs.chownSync(join(home, "auth.json"), NOBODY, NOBODY)
  fs.chmodSync(home, 0o500)
  return { ...session, home }
}

const refreshPosts = async () => (await mock.requests()).filter((r) => r.kind === "refresh_token")

describe("own files only", () => {
  it("auth.json → a file that is not a credentials document: status, token, login --with-api-key, logout, logout --local-only leave it byte- and mode-identical", async () => {
    const home = newHome()
    const victim = join(dirname(home), "passwd")
    fs.writeFileSync(victim, "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/sh\n", { mode: 0o644 })
    fs.symlinkSync(victim, join(home, "auth.json"))
    const before = snapshot(victim)
    const env = { CODEX_HOME: home, CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/revoke` }
    const runs = [
      await runCli(["login", "status"], { env }),
      await runCli(["token"], { env }),
      await runCli(["login", "--with-api-key"], { env, input: "sk-test-own-files-0123456789\n" }),
      await runCli(["logout"], { env }),
      await runCli(["logout", "--local-only"], { env })
    ]
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toMatch(/^error: /m)
      expect(r.stderr).toMatch(/^hint: /m)
    }
    expect(runs[2]!.stderr).toMatch(/symbolic link to .*passwd, which is not a credentials document/)
    expect(runs[3]!.stderr).toMatch(/not a credentials document/)
    expect(snapshot(victim)).toEqual(before)
    expect(fs.lstatSync(join(home, "auth.json")).isSymbolicLink()).toBe(true)
    expect((await mock.requests()).filter((q) => q.kind === "revoke")).toHaveLength(0)
  })

  it.runIf(isRoot)("a CODEX_HOME owned by root, run as uid 65534: login --with-api-key is refused (exit 5) before anything is created", async () => {
    const home = newHome()
    fs.chmodSync(dirname(home), 0o755)
    fs.chmodSync(home, 0o777) // writable by everyone: still refused, it is not theirs
    const r = await runAs(NOBODY, ["login", "--with-api-key"], { CODEX_HOME: home }, "sk-test-foreign-home-0123456789\n")
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/CODEX_HOME .* belongs to another user \(uid 0; codex-auth runs as uid 65534\)/)
    expect(r.stderr).toMatch(/^hint: /m)
    expect(fs.readdirSync(home)).toEqual([])
    // A refresh-due token there: no lock file, no POST, exit 5.
    await mock.control.reset()
    const { env } = await expiredSession(home)
    fs.chmodSync(join(home, "auth.json"), 0o644)
    const token = await runAs(NOBODY, ["token"], env)
    expect(token.code, token.stderr).toBe(5)
    expect(token.stderr).toMatch(/belongs to another user/)
    expect(fs.readdirSync(home)).toEqual(["auth.json"])
    expect(await refreshPosts()).toHaveLength(0)
  })

  it.runIf(isRoot)("root on a CODEX_HOME that uid 65534 owns: logout refuses to delete, the file stays", async () => {
    const home = newHome()
    const { env } = await expiredSession(home)
    fs.chownSync(home, NOBODY, NOBODY)
    fs.chownSync(join(home, "auth.json"), NOBODY, NOBODY)
    const before = snapshot(join(home, "auth.json"))
    const r = await runCli(["logout"], { env })
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/belongs to another user \(uid 65534; codex-auth runs as uid 0\)/)
    expect(snapshot(join(home, "auth.json"))).toEqual(before)
  })
})

describe("no refresh POST that could not be saved", () => {
  it.runIf(isRoot)("an unwritable CODEX_HOME (mode 500, as uid 65534): token exits 5 with no POST; after chmod 700 the same refresh token refreshes", async () => {
    const { env, tokens, home } = await nobodysReadOnlySession()
    const r = await runAs(NOBODY, ["token"], env)
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/permission denied/)
    expect(r.stderr).toMatch(/^hint: /m)
    expect(await refreshPosts()).toHaveLength(0)
    fs.chmodSync(home, 0o700)
    const again = await runAs(NOBODY, ["token"], env)
    expect(again.code, again.stderr).toBe(0)
    const posts = await refreshPosts()
    expect(posts.map((p) => p.status)).toEqual([200])
    expect(mock.engine.refreshTokenState(tokens.refresh_token)).not.toBe("active")
  })

  it.runIf(isRoot)("logout on an unwritable CODEX_HOME (mode 500, as uid 65534): exit 5, nothing revoked, the session still works", async () => {
    const { env, home } = await nobodysReadOnlySession()
    const r = await runAs(NOBODY, ["logout"], env)
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/^hint: /m)
    expect((await mock.requests()).filter((q) => q.kind === "revoke")).toHaveLength(0)
    expect(fs.existsSync(join(home, "auth.json"))).toBe(true)
    fs.chmodSync(home, 0o700)
    const token = await runAs(NOBODY, ["token"], env)
    expect(token.code, token.stderr).toBe(0)
  })

  const tryMount = (dir: string): boolean => {
    if (!isRoot) return false
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k,mode=700", "tmpfs", dir])
    if (r.status === 0) mounts.push(dir)
    return r.status === 0
  }

  it("a full disk (a 256 KiB tmpfs): token exits 5 with no POST; after space is freed the same refresh token refreshes", async (ctx) => {
    await mock.control.reset()
    const home = newHome()
    if (!tryMount(home)) {
      ctx.skip("this machine does not let the test mount a tmpfs (needs root)")
      return
    }
    const { env } = await expiredSession(home)
    // Fill the file system up to the last byte.
    const filler = join(home, "filler")
    const fd = fs.openSync(filler, "w")
    try {
      const chunk = Buffer.alloc(4096, 1)
      for (;;) fs.writeSync(fd, chunk)
    } catch (e) {
      expect((e as NodeJS.ErrnoException).code).toBe("ENOSPC")
    } finally {
      fs.closeSync(fd)
    }
    try {
      for (let i = 0;; i++) fs.writeFileSync(join(home, `f${i}`), "x")
    } catch {
      // every last block taken
    }
    const r = await runCli(["token"], { env })
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toMatch(/no space left on the device/)
    expect(r.stderr).toMatch(/^hint: Free some disk space/m)
    expect(await refreshPosts()).toHaveLength(0)
    for (const name of fs.readdirSync(home)) if (name === "filler" || /^f\d+$/.test(name)) fs.rmSync(join(home, name))
    const again = await runCli(["token"], { env })
    expect(again.code, again.stderr).toBe(0)
    expect((await refreshPosts()).map((p) => p.status)).toEqual([200])
  })
})

describe("finish what was sent", () => {
  it("SIGTERM while the refresh POST is out: the answer is awaited and saved, exit 130; the next run does not refresh again", async () => {
    await mock.control.reset()
    const home = newHome()
    const { env, tokens } = await expiredSession(home)
    await mock.control.setFaults("refresh", [{ latencyMs: 2000 }])
    const child = spawn(process.execPath, [cliPath, "token"], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })))
    // The POST has arrived once the mock took the queued fault.
    const deadline = Date.now() + 20_000
    while (mock.engine.faults.snapshot()["refresh"] !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    const sentAt = Date.now()
    child.kill("SIGTERM")
    const { code } = await exited
    expect(code, stderr).toBe(130)
    expect(Date.now() - sentAt).toBeLessThan(10_000)
    expect(stdout).toBe("")
    const stored = JSON.parse(fs.readFileSync(join(home, "auth.json"), "utf8"))
    expect(stored.tokens.refresh_token).not.toBe(tokens.refresh_token)
    expect(mock.engine.refreshTokenState(stored.tokens.refresh_token)).toBe("active")
    const next = await runCli(["token"], { env })
    expect(next.code, next.stderr).toBe(0)
    expect(next.stdout.trim()).toBe(stored.tokens.access_token)
    expect(await refreshPosts()).toHaveLength(1)
  })
})

describe("one truth for logged in", () => {
  it("{auth_mode: chatgpt, tokens: null}: login status and token both say not logged in (exit 1)", async () => {
    const home = newHome()
    fs.writeFileSync(join(home, "auth.json"), JSON.stringify({ auth_mode: "chatgpt", OPENAI_API_KEY: null, tokens: null }), { mode: 0o600 })
    const env = { CODEX_HOME: home }
    const status = await runCli(["login", "status"], { env })
    const json = await runCli(["login", "status", "--json"], { env })
    const token = await runCli(["token"], { env })
    expect(status.code).toBe(1)
    expect(status.stdout + status.stderr).toMatch(/Not logged in/)
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ logged_in: false, mode: null })
    expect(token.code).toBe(1)
    expect(token.stdout).toBe("")
  })
})

/**
 * The bundle's payloads and their V8 code cache (src/Payloads.ts), on the built CLI: one cache per
 * command, written once and then used; a cache V8 refuses, or one that others could have written,
 * is replaced; `CODEX_AUTH_CODE_CACHE=0` writes nothing; old builds' caches are pruned; a damaged
 * bundle fails with a clear message instead of running garbage.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const cli = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/codex-auth.mjs")
const root = mkdtempSync(join(tmpdir(), "codex-auth-cache-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const home = join(root, "codex-home")
const key = "sk-proj-cachetest0123456789abcdef"

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} does not exist: build it first (pnpm --filter codex-auth build)`)
  mkdirSync(home, { recursive: true, mode: 0o700 })
  writeFileSync(join(home, "auth.json"), JSON.stringify({ OPENAI_API_KEY: key, tokens: null, last_refresh: null }), { mode: 0o600 })
})

let counter = 0
const freshCache = () => join(root, `xdg-${counter++}`)

const run = (args: ReadonlyArray<string>, xdg: string, extra: Record<string, string> = {}, bundle = cli) => {
  const r = spawnSync(process.execPath, [bundle, ...args], {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: join(root, "home"),
      XDG_CACHE_HOME: xdg,
      CODEX_HOME: home,
      CODEX_MANAGED_CONFIG_PATH: join(root, "none.toml"),
      CODEX_REQUIREMENTS_PATH: join(root, "none.toml"),
      ...extra
    },
    encoding: "utf8"
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const caches = (xdg: string) => {
  const dir = join(xdg, "codex-auth")
  return existsSync(dir) ? readdirSync(dir).sort() : []
}

describe("code cache", () => {
  it("each command writes its cache once (0600 in a 0700 directory) and later runs use it", () => {
    const xdg = freshCache()
    expect(run(["token"], xdg)).toMatchObject({ code: 0, stdout: `${key}\n`, stderr: "" })
    const [tokenCache, ...others] = caches(xdg)
    expect(others).toEqual([])
    expect(tokenCache).toMatch(new RegExp(`^lean-[0-9a-f]{16}-token-${process.version.replaceAll(".", "\\.")}-${process.arch}\\.v8cache$`))
    const dir = join(xdg, "codex-auth")
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    const file = join(dir, tokenCache!)
    expect(statSync(file).mode & 0o777).toBe(0o600)

    // Make the cache look old: a run that used it leaves it alone; a run that rewrote it would not.
    utimesSync(file, new Date(2000, 0, 1), new Date(2000, 0, 1))
    const before = readFileSync(file)
    expect(run(["token"], xdg)).toMatchObject({ code: 0, stdout: `${key}\n` })
    expect(statSync(file).mtime.getFullYear()).toBe(2000)
    expect(readFileSync(file).equals(before)).toBe(true)

    expect(run(["login", "status"], xdg).code).toBe(0)
    expect(run(["--version"], xdg).code).toBe(0)
    expect(caches(xdg).map((f) => f.split("-").slice(0, 1).concat(f.split("-")[2]!).join(":"))).toEqual(["full:full", "lean:status", "lean:token"])
  })

  it("a cache V8 refuses is replaced; one writable by others is not read but replaced", () => {
    const xdg = freshCache()
    run(["token"], xdg)
    const [name] = caches(xdg)
    const file = join(xdg, "codex-auth", name!)
    const good = readFileSync(file)

    const garbage = Buffer.alloc(good.length, 7)
    writeFileSync(file, garbage)
    expect(run(["token"], xdg)).toMatchObject({ code: 0, stdout: `${key}\n`, stderr: "" })
    expect(readFileSync(file).equals(garbage), "garbage replaced").toBe(false)
    // …by a cache V8 takes: the next run leaves it alone.
    utimesSync(file, new Date(2000, 0, 1), new Date(2000, 0, 1))
    run(["token"], xdg)
    expect(statSync(file).mtime.getFullYear()).toBe(2000)

    // A valid cache, but group/world-writable: used, it would be kept as it is; ignored, rewritten 0600.
    writeFileSync(file, good, { mode: 0o666 })
    spawnSync("chmod", ["666", file])
    utimesSync(file, new Date(2000, 0, 1), new Date(2000, 0, 1))
    expect(run(["token"], xdg)).toMatchObject({ code: 0, stdout: `${key}\n`, stderr: "" })
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(file).mtime.getFullYear()).not.toBe(2000)
  })

  it("CODEX_AUTH_CODE_CACHE=0 writes nothing; an unwritable cache directory is not an error", () => {
    const xdg = freshCache()
    expect(run(["login", "status"], xdg, { CODEX_AUTH_CODE_CACHE: "0" })).toMatchObject({ code: 0, stderr: "" })
    expect(existsSync(xdg)).toBe(false)

    const blocked = freshCache()
    writeFileSync(blocked, "a file where the cache directory should be")
    expect(run(["token"], blocked)).toMatchObject({ code: 0, stdout: `${key}\n`, stderr: "" })
  })

  it("keeps the newest four caches per command: older builds' caches are removed", () => {
    const xdg = freshCache()
    const dir = join(xdg, "codex-auth")
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const old = ["1111111111111111", "2222222222222222", "3333333333333333", "4444444444444444", "5555555555555555"].map((h, i) => {
      const f = join(dir, `lean-${h}-status-v20.0.0-${process.arch}.v8cache`)
      writeFileSync(f, "old", { mode: 0o600 })
      utimesSync(f, new Date(2001 + i, 0, 1), new Date(2001 + i, 0, 1))
      return f
    })
    const otherCommand = join(dir, `lean-1111111111111111-token-v20.0.0-${process.arch}.v8cache`)
    writeFileSync(otherCommand, "old", { mode: 0o600 })
    expect(run(["login", "status"], xdg).code).toBe(0)
    const left = caches(xdg)
    expect(left.filter((f) => f.includes("-status-"))).toHaveLength(4)
    // The new cache and the three newest old ones (2003, 2004, 2005) are kept.
    expect(old.map((f) => existsSync(f))).toEqual([false, false, true, true, true])
    expect(existsSync(otherCommand), "another command's cache is not touched").toBe(true)
  })
})

describe("startup trace", () => {
  it("CODEX_AUTH_TRACE_STARTUP=1 prints the time of each step on stderr; stdout is unchanged", () => {
    const xdg = freshCache()
    const first = run(["token"], xdg, { CODEX_AUTH_TRACE_STARTUP: "1" })
    expect(first.stdout).toBe(`${key}\n`)
    expect(first.stderr).toMatch(/^codex-auth startup \(ms since the process started: [\d.]+\): entry \+[\d.]+, read lean \+[\d.]+, no code cache \+[\d.]+, compile \+[\d.]+, evaluate \+[\d.]+, run \+[\d.]+, write code cache \+[\d.]+, exit \+[\d.]+\n$/)
    const second = run(["token"], xdg, { CODEX_AUTH_TRACE_STARTUP: "1" })
    expect(second.stderr).toMatch(/, read code cache \+[\d.]+, compile \+[\d.]+, evaluate \+[\d.]+, run \+[\d.]+, exit /)
    expect(run(["token"], xdg).stderr).toBe("")
  })
})

describe("bundle integrity", () => {
  it("a truncated bundle fails with a clear message and exit code 70", () => {
    const copy = join(root, "damaged", "codex-auth.mjs")
    mkdirSync(dirname(copy), { recursive: true })
    copyFileSync(cli, copy)
    // The last payload (the full CLI) is one `//` comment line: cutting it keeps the file valid
    // JavaScript, so only the payload table can tell.
    truncateSync(copy, statSync(cli).size - 1000)
    const r = run(["--version"], freshCache(), {}, copy)
    expect(r.code).toBe(70)
    expect(r.stderr).toMatch(/^error: unexpected error: the codex-auth bundle .*damaged\/codex-auth\.mjs is damaged \(payload full does not match its table\); reinstall codex-auth\n/)
    expect(r.stdout).toBe("")
  })
})

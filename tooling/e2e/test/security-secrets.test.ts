/**
 * Secret hygiene of the built CLI: every command runs with known secret values (an API key on
 * stdin, ChatGPT tokens in auth.json, a key in CODEX_API_KEY) while the argv of its whole process
 * tree is sampled from /proc; stdout (except where a command exists to print the secret:
 * `token`), stderr and every argv are searched for the secrets, raw and encoded. Bad input —
 * corrupt or hostile auth.json, bad stdin — is a message, a hint and a documented exit code, never
 * a stack trace, an internal error or an echo of the secret. Also: the documented symlink
 * behaviour ("Files and compatibility" in README) and the repair of a wider mode.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import { AuthDotJson } from "@codex-auth/core"
import { CodexHome } from "@codex-auth/storage"
import { Redacted } from "effect"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, tempCodexHome } from "../src/Cli.ts"
import { fakeJwt } from "../src/reliability/documents.ts"
import { type PrivateKeyring, readKeyringEntry, startPrivateKeyring } from "../src/reliability/keyring.ts"
import { findSecrets, hasStackTrace, runWatched, type WatchedResult } from "../src/reliability/secrets.ts"

const rand = () => randomBytes(9).toString("hex")
const API_KEY = `sk-proj-SECRETAPIKEY${rand()}`
const ENV_KEY = `sk-env-SECRETENVKEY${rand()}`
const REFRESH = `rt-SECRETREFRESH${rand()}`
const ACCESS = `${fakeJwt({ exp: Math.floor(Date.now() / 1000) + 3600, "https://api.openai.com/auth": { chatgpt_account_id: "acct-sec" } }).slice(0, -4)}SECRETACCESS${rand()}`
const ID_TOKEN = `${fakeJwt({
  email: "hygiene@example.com",
  exp: Math.floor(Date.now() / 1000) + 3600,
  "https://api.openai.com/auth": { chatgpt_plan_type: "pro", chatgpt_account_id: "acct-sec", chatgpt_user_id: "user-sec" }
}).slice(0, -4)}SECRETIDTOKEN${rand()}`
const ALL = [API_KEY, ENV_KEY, REFRESH, ACCESS, ID_TOKEN]

const cli = (args: ReadonlyArray<string>, codexHome: string, options: { input?: string; env?: Record<string, string> } = {}) =>
  runWatched(process.execPath, [cliPath, ...args], {
    env: { CODEX_HOME: codexHome, ...options.env },
    ...(options.input !== undefined ? { input: options.input } : {})
  })

/** No secret in stderr, argv, or stdout (unless `stdoutMayHold` is the one secret stdout exists to print). */
const assertClean = (r: WatchedResult, stdoutMayHold?: string, inheritedEnv: ReadonlyArray<string> = []) => {
  const others = ALL.filter((s) => s !== stdoutMayHold)
  expect(findSecrets(r.stderr, ALL), `stderr: ${r.stderr}`).toEqual([])
  expect(findSecrets(r.stdout, others), "stdout").toEqual([])
  expect(findSecrets(r.argvs.join("\n"), ALL), "argv").toEqual([])
  expect(findSecrets(r.childEnvirons.join("\n"), ALL.filter((s) => !inheritedEnv.includes(s))), "environment of a child process").toEqual([])
  expect(hasStackTrace(r.stdout + r.stderr), r.stderr).toBe(false)
  expect(r.samples).toBeGreaterThan(0)
}

const chatGptDoc = () =>
  AuthDotJson.toFileText(AuthDotJson.fromChatGptTokens({
    idToken: Redacted.make(ID_TOKEN),
    accessToken: Redacted.make(ACCESS),
    refreshToken: Redacted.make(REFRESH),
    apiKey: Redacted.make(API_KEY),
    provenance: { issuer: "https://auth.example.invalid", clientId: "app_EMoamEEZ73f0CkXaXp7hrann" },
    now: new Date()
  }))

const writeAuth = (codexHome: string, text: string, mode = 0o600) => {
  fs.mkdirSync(codexHome, { recursive: true, mode: 0o700 })
  fs.writeFileSync(join(codexHome, "auth.json"), text, { mode })
  fs.chmodSync(join(codexHome, "auth.json"), mode)
}

describe("secrets never leave through output, errors or argv", () => {
  it("API-key flow: login --with-api-key (stdin), status, status --json, token, logout", async () => {
    const home = tempCodexHome()
    const login = await cli(["login", "--with-api-key"], home, { input: `${API_KEY}\n` })
    expect(login.code, login.stderr).toBe(0)
    assertClean(login)
    // The argv sampler saw the CLI itself (and so would have seen a key passed as an argument).
    expect(login.argvs.some((a) => a.includes("codex-auth.mjs login --with-api-key"))).toBe(true)

    for (const args of [["login", "status"], ["login", "status", "--json"]]) {
      const r = await cli(args, home)
      expect(r.code, r.stderr).toBe(0)
      assertClean(r)
    }
    const token = await cli(["token"], home)
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe(`${API_KEY}\n`)
    assertClean(token, API_KEY)

    const logout = await cli(["logout", "--local-only"], home)
    expect(logout.code, logout.stderr).toBe(0)
    assertClean(logout)
    expect(fs.existsSync(join(home, "auth.json"))).toBe(false)
  })

  it("ChatGPT tokens in auth.json: status, status --json, token (the access token only), logout", async () => {
    const home = tempCodexHome()
    writeAuth(home, chatGptDoc())
    for (const args of [["login", "status"], ["login", "status", "--json"]]) {
      const r = await cli(args, home)
      expect(r.code, r.stderr).toBe(0)
      assertClean(r)
      expect(r.stdout).toContain("hygiene@example.com")
    }
    const token = await cli(["token"], home)
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe(`${ACCESS}\n`)
    assertClean(token, ACCESS)
    const logout = await cli(["logout", "--local-only"], home)
    expect(logout.code, logout.stderr).toBe(0)
    assertClean(logout)
  })

  it("CODEX_API_KEY in the environment is reported as set, never printed by status", async () => {
    const home = tempCodexHome()
    for (const args of [["login", "status"], ["login", "status", "--json"]]) {
      const r = await cli(args, home, { env: { CODEX_API_KEY: ENV_KEY } })
      // Children inherit the user's environment as it is; nothing else may carry a secret.
      assertClean(r, undefined, [ENV_KEY])
    }
  })

  it("bad stdin for --with-api-key (spaces, several lines, binary, 100 KiB) is a usage error that does not echo it", async () => {
    const home = tempCodexHome()
    for (const input of [`${API_KEY} ${API_KEY}\n`, `${API_KEY}\n${REFRESH}\n`, `${API_KEY}\u0000\u00ff`, API_KEY.repeat(4000)]) {
      const r = await cli(["login", "--with-api-key"], home, { input })
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/^error: .+/m)
      // Each says what to do instead (the oversized input too).
      expect(r.stderr).toMatch(/^hint: Pipe .*codex-auth login --with-api-key/m)
      assertClean(r)
    }
    expect(fs.existsSync(join(home, "auth.json"))).toBe(false)
  })
})

describe("keyring mode: the secret travels to the keyring helper over a pipe only", () => {
  let keyring: PrivateKeyring | undefined
  beforeAll(async () => {
    keyring = await startPrivateKeyring()
  })
  afterAll(() => keyring?.stop())

  it("login --with-api-key, status, token, logout with --store keyring: no secret in any argv or child environment", async () => {
    const home = tempCodexHome()
    const env = { DBUS_SESSION_BUS_ADDRESS: keyring!.address }
    const login = await cli(["--store", "keyring", "login", "--with-api-key"], home, { input: `${API_KEY}\n`, env })
    expect(login.code, login.stderr).toBe(0)
    assertClean(login)
    // The keyring helper was seen (so its argv and environment were checked).
    expect(login.childEnvirons.some((e) => e.includes("CODEX_AUTH_KEYRING_HELPER="))).toBe(true)
    expect(readKeyringEntry(keyring!.address, home)).toContain(API_KEY)
    for (const args of [["login", "status", "--json"], ["logout", "--local-only"]]) {
      const r = await cli(["--store", "keyring", ...args], home, { env })
      expect(r.code, r.stderr).toBe(0)
      assertClean(r)
    }
    expect(readKeyringEntry(keyring!.address, home)).toBe("")
  })
})

describe("the scanners have teeth", () => {
  it("the argv sampler sees a secret passed as an argument to a grandchild, and findSecrets finds encoded forms", async () => {
    const r = await runWatched(process.execPath, [
      "-e",
      "require('node:child_process').execFileSync('sh', ['-c', 'sleep 0.2', 'sh', process.argv[1]])",
      API_KEY
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(findSecrets(r.argvs.join("\n"), [API_KEY])).toHaveLength(1)
    expect(r.argvs.some((a) => a.startsWith("sh -c sleep 0.2") && a.includes(API_KEY))).toBe(true)
    expect(findSecrets(`x=${encodeURIComponent(REFRESH)}&y`, [REFRESH])).toHaveLength(1)
    expect(findSecrets(Buffer.from(ACCESS).toString("base64url"), [ACCESS])).toHaveLength(1)
    expect(hasStackTrace("Error: boom\n    at foo (file:///x.mjs:1:2)")).toBe(true)
  })
})

describe("hostile or corrupt auth.json: a message and an exit code, never a crash", () => {
  const corruptions: ReadonlyArray<readonly [string, (doc: string) => string]> = [
    ["empty", () => ""],
    ["whitespace", () => " \n\t"],
    ["truncated inside a token", (doc) => doc.slice(0, doc.indexOf(REFRESH) + 8)],
    ["truncated at half", (doc) => doc.slice(0, Math.floor(doc.length / 2))],
    ["NUL bytes", (doc) => doc.replace(/,/g, "\u0000")],
    ["wrong types with secrets", () => JSON.stringify({ OPENAI_API_KEY: [API_KEY], tokens: { id_token: 7, access_token: ACCESS, refresh_token: { v: REFRESH } } })],
    ["tokens is a string", () => JSON.stringify({ auth_mode: "chatgpt", tokens: REFRESH })],
    ["a JSON array", () => JSON.stringify([API_KEY, REFRESH])],
    ["deep nesting", () => `{"tokens":${"[".repeat(100_000)}${"]".repeat(100_000)}}`],
    ["not UTF-8", () => `\uFFFD\uFFFE${REFRESH}`],
    ["id_token not a JWT", () => JSON.stringify({ auth_mode: "chatgpt", OPENAI_API_KEY: null, tokens: { id_token: REFRESH, access_token: ACCESS, refresh_token: REFRESH } })]
  ]

  it.each(corruptions)("%s: status, token and logout exit with a documented code and a hint", async (_name, corrupt) => {
    const home = tempCodexHome()
    writeAuth(home, corrupt(chatGptDoc()))
    const before = fs.readFileSync(join(home, "auth.json"))
    for (const args of [["login", "status"], ["login", "status", "--json"], ["token"]]) {
      const r = await cli(args, home)
      expect([0, 1, 5], `${args.join(" ")}: ${r.stderr}`).toContain(r.code)
      if (r.code !== 0) expect(r.stderr).toMatch(/^error: .+/m)
      assertClean(r, args[0] === "token" ? ACCESS : undefined)
    }
    // A read never rewrites a file it cannot parse.
    expect(fs.readFileSync(join(home, "auth.json")).equals(before)).toBe(true)
    const logout = await cli(["logout", "--local-only"], home)
    expect(logout.code, logout.stderr).toBe(0)
    assertClean(logout)
  })

  it("random bytes in auth.json (property, 25 runs): exit 0, 1 or 5, no stack trace, no internal error", async () => {
    const home = tempCodexHome()
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        fs.mkdirSync(home, { recursive: true, mode: 0o700 })
        fs.writeFileSync(join(home, "auth.json"), bytes, { mode: 0o600 })
        const r = await cli(["login", "status", "--json"], home)
        expect([0, 1, 5], r.stderr).toContain(r.code)
        expect(hasStackTrace(r.stderr)).toBe(false)
        expect(r.stderr).not.toContain("unexpected error")
      }),
      { numRuns: 25 }
    )
  })
})

describe("files: modes and symlinks (README: Files and compatibility)", () => {
  it("an existing auth.json with a wider mode: a read warns (naming no secret) and changes nothing; the next save writes 0600", async () => {
    const home = tempCodexHome()
    writeAuth(home, chatGptDoc(), 0o644)
    const r = await cli(["login", "status"], home)
    expect(r.code, r.stderr).toBe(0)
    expect(fs.statSync(join(home, "auth.json")).mode & 0o777).toBe(0o644)
    expect(r.stderr).toMatch(/^warning: .*auth\.json is readable by others \(mode 644\); run `chmod 600 /m)
    assertClean(r)
    const login = await cli(["login", "--with-api-key"], home, { input: `${API_KEY}\n` })
    expect(login.code, login.stderr).toBe(0)
    expect(fs.statSync(join(home, "auth.json")).mode & 0o777).toBe(0o600)
  })

  it("a symlinked CODEX_HOME is followed: files land in the target, 0600, and the keyring account is the target's", async () => {
    const root = dirname(tempCodexHome())
    const target = join(root, "real-home")
    fs.mkdirSync(target, { mode: 0o700 })
    const link = join(root, "linked-home")
    fs.symlinkSync(target, link)
    const login = await cli(["login", "--with-api-key"], link, { input: `${API_KEY}\n` })
    expect(login.code, login.stderr).toBe(0)
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
    expect(fs.statSync(join(target, "auth.json")).mode & 0o777).toBe(0o600)
    const viaTarget = await cli(["login", "status", "--json"], target)
    expect(JSON.parse(viaTarget.stdout).mode).toBe("apikey")
    expect(CodexHome.keyringAccount(link)).toBe(CodexHome.keyringAccount(target))
    assertClean(login)
  })

  it("a symlinked auth.json is followed: the target is replaced atomically (0600) and the link is kept", async () => {
    const home = tempCodexHome()
    fs.mkdirSync(home, { mode: 0o700 })
    const elsewhere = join(dirname(home), "dotfiles")
    fs.mkdirSync(elsewhere, { mode: 0o700 })
    const target = join(elsewhere, "codex-auth.json")
    fs.writeFileSync(target, chatGptDoc(), { mode: 0o600 })
    fs.symlinkSync(target, join(home, "auth.json"))
    const inodeBefore = fs.statSync(target).ino
    const login = await cli(["login", "--with-api-key"], home, { input: `${API_KEY}\n` })
    expect(login.code, login.stderr).toBe(0)
    expect(fs.lstatSync(join(home, "auth.json")).isSymbolicLink()).toBe(true)
    expect(fs.readlinkSync(join(home, "auth.json"))).toBe(target)
    expect(fs.statSync(target).ino).not.toBe(inodeBefore) // renamed over, not written in place
    expect(fs.statSync(target).mode & 0o777).toBe(0o600)
    expect(JSON.parse(fs.readFileSync(target, "utf8")).OPENAI_API_KEY).toBe(API_KEY)
    expect(fs.readdirSync(elsewhere)).toEqual(["codex-auth.json"])
  })

  it("a dangling auth.json symlink is replaced by a regular 0600 file; nothing is created at the dangling target", async () => {
    const home = tempCodexHome()
    fs.mkdirSync(home, { mode: 0o700 })
    const dangling = join(dirname(home), "nowhere", "auth.json")
    fs.symlinkSync(dangling, join(home, "auth.json"))
    const login = await cli(["login", "--with-api-key"], home, { input: `${API_KEY}\n` })
    expect(login.code, login.stderr).toBe(0)
    const st = fs.lstatSync(join(home, "auth.json"))
    expect(st.isFile()).toBe(true)
    expect(st.mode & 0o777).toBe(0o600)
    expect(fs.existsSync(dangling)).toBe(false)
  })

  // Logout through a symlinked auth.json removes the link's target too (the Codex CLI only
  // unlinks the link and leaves the refresh token in the target).
  it("logout through a symlinked auth.json leaves no credential at the link's target", async () => {
    const home = tempCodexHome()
    fs.mkdirSync(home, { mode: 0o700 })
    const target = join(dirname(home), "kept-auth.json")
    fs.writeFileSync(target, chatGptDoc(), { mode: 0o600 })
    fs.symlinkSync(target, join(home, "auth.json"))
    const logout = await cli(["logout", "--local-only"], home)
    expect(logout.code, logout.stderr).toBe(0)
    const status = await cli(["login", "status"], home)
    expect(status.code).toBe(1)
    expect(fs.existsSync(target) ? findSecrets(fs.readFileSync(target, "utf8"), [REFRESH]) : []).toEqual([])
  })
})

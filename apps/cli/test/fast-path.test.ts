/**
 * The lean and fast paths (`login status [--json]`, `token`) against the full effect/cli path, on
 * the built bundle (apps/cli/dist/codex-auth.mjs): for each situation the fast argv shape and the
 * same command with `-c x=1` (an override of a key codex-auth ignores, which only the full CLI
 * parses) must print byte-identical stdout and stderr and exit with the same code. Which programs
 * ran is read from the code cache each payload writes on its first run (`lean-…-status-…`,
 * `fast-…-token-…`, `full-…`): the lean path serves the healthy cases and declines the rest, which
 * the fast path then serves.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { once } from "node:events"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const cli = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/codex-auth.mjs")

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** The code caches the run left in its own cache directory: which payloads ran. */
  readonly payloads: ReadonlyArray<string>
}

const root = mkdtempSync(join(tmpdir(), "codex-auth-fast-path-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let counter = 0

const runCli = async (args: ReadonlyArray<string>, env: Record<string, string>): Promise<Run> => {
  const cache = join(root, `cache-${counter++}`)
  const child = spawn(process.execPath, [cli, ...args], {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: join(root, "home"),
      LANG: "C.UTF-8",
      XDG_CACHE_HOME: cache,
      CODEX_MANAGED_CONFIG_PATH: join(root, "no-managed-config.toml"),
      CODEX_REQUIREMENTS_PATH: join(root, "no-requirements.toml"),
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const [code] = (await once(child, "close")) as [number | null]
  const dir = join(cache, "codex-auth")
  const payloads = existsSync(dir)
    ? readdirSync(dir).map((f) => {
      const [payload, , variant] = f.split("-")
      return payload === "fast" || payload === "lean" ? `${payload}:${variant}` : payload!
    }).sort()
    : []
  return { code, stdout, stderr, payloads }
}

// ---------------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------------

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.c2ln`
const nowS = () => Math.floor(Date.now() / 1000)
const chatgptClaims = (exp: number, account = "ws-fast") => ({
  email: "fast@example.com",
  exp,
  "https://api.openai.com/auth": { chatgpt_plan_type: "plus", chatgpt_account_id: account, chatgpt_user_id: "user-fast" }
})

/** auth.json for a ChatGPT login whose access token expires at `exp` (seconds). */
const chatgptAuth = (exp: number) =>
  JSON.stringify(
    {
      auth_mode: "chatgpt",
      OPENAI_API_KEY: null,
      tokens: {
        id_token: jwt(chatgptClaims(exp)),
        access_token: jwt({ ...chatgptClaims(exp), scope: "openid" }),
        refresh_token: "rt-fast-1",
        account_id: "ws-fast"
      },
      last_refresh: new Date(Date.now() - 60_000).toISOString()
    },
    null,
    2
  )

/** A situation: what CODEX_HOME (and the managed configuration) hold before each run. */
interface Situation {
  readonly name: string
  readonly files: Record<string, string>
  readonly managed?: string
  /** Mode of the files (default 0600). */
  readonly mode?: number
  /** Extra environment. */
  readonly env?: Record<string, string>
  /** The commands the lean path declines here (the fast path then runs): default none. */
  readonly leanDeclines?: ReadonlyArray<"status" | "token">
}

// Fixed at load time, so both runs of a pair see the same documents; ten hours ahead, so "expires
// in 10h" / "due in 10h" (whole hours) stay the same for 25 minutes: a loaded machine running this
// file for minutes never sees the two runs of a pair on both sides of a rounding edge (with
// "in 60m" the edge was 10 s away).
const exp = nowS() + 10 * 3600

const reauthMarker = JSON.stringify({
  reason: "refresh_token_reused",
  at: "2026-01-02T03:04:05.000Z",
  refresh_token_sha256: createHash("sha256").update("rt-fast-1").digest("hex").slice(0, 16)
})

const situations: ReadonlyArray<Situation> = [
  { name: "not logged in", files: {}, leanDeclines: ["token"] },
  {
    name: "API key",
    files: { "auth.json": JSON.stringify({ OPENAI_API_KEY: "sk-proj-fastpath0123456789abcdef", tokens: null, last_refresh: null }, null, 2) }
  },
  { name: "ChatGPT tokens", files: { "auth.json": chatgptAuth(exp) } },
  { name: "corrupt auth.json", files: { "auth.json": "{\"tokens\": {\"id_token\": " }, leanDeclines: ["status", "token"] },
  { name: "auth.json readable by others (a warning, no change)", files: { "auth.json": chatgptAuth(exp) }, mode: 0o644 },
  {
    name: "policy violation (managed configuration forces API key login)",
    files: { "auth.json": chatgptAuth(exp) },
    managed: "forced_login_method = \"api\"\n",
    leanDeclines: ["status", "token"]
  },
  {
    name: "a config.toml as Codex users have, with a policy the credentials meet",
    files: {
      "auth.json": chatgptAuth(exp),
      "config.toml": "model = \"gpt-5\"\nforced_login_method = \"chatgpt\"\nforced_chatgpt_workspace_id = \"ws-fast\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\n"
    }
  },
  { name: "a malformed config.toml", files: { "auth.json": chatgptAuth(exp), "config.toml": "model = \n" }, leanDeclines: ["status", "token"] },
  {
    name: "the auto store (no keyring here: auth.json, with a warning)",
    files: { "auth.json": chatgptAuth(exp), "config.toml": "cli_auth_credentials_store = \"auto\"\n" },
    leanDeclines: ["status", "token"]
  },
  {
    name: "CODEX_API_KEY in the environment",
    files: { "auth.json": chatgptAuth(exp) },
    env: { CODEX_API_KEY: "sk-proj-fromenv0123456789abcdef" },
    leanDeclines: ["status", "token"]
  },
  { name: "a ChatGPT session that must sign in again", files: { "auth.json": chatgptAuth(exp), ".codex-auth-reauth-required": reauthMarker } }
]

/** Puts `s` in place at fixed paths (wiping what a previous run left). */
const prepare = (s: Situation) => {
  const home = join(root, "codex-home")
  rmSync(home, { recursive: true, force: true })
  mkdirSync(home, { recursive: true, mode: 0o700 })
  for (const [name, text] of Object.entries(s.files)) {
    writeFileSync(join(home, name), text)
    chmodSync(join(home, name), s.mode ?? 0o600)
  }
  const managed = join(root, "managed_config.toml")
  rmSync(managed, { force: true })
  if (s.managed !== undefined) writeFileSync(managed, s.managed)
  return {
    home,
    env: { CODEX_HOME: home, ...(s.managed !== undefined ? { CODEX_MANAGED_CONFIG_PATH: managed } : {}), ...s.env }
  }
}

/** Runs `args` as the fast path would get it, then with `-c x=1`, each on a fresh copy of `s`. */
const both = async (s: Situation, args: ReadonlyArray<string>, options: { readonly codexHomeFlag?: boolean } = {}) => {
  const runOnce = (extra: ReadonlyArray<string>) => {
    const { env, home } = prepare(s)
    const e: Record<string, string> = options.codexHomeFlag === true ? { ...env, CODEX_HOME: join(root, "elsewhere") } : env
    return runCli([...(options.codexHomeFlag === true ? ["--codex-home", home] : []), ...extra, ...args], e)
  }
  const fast = await runOnce([])
  const full = await runOnce(["-c", "x=1"])
  return { fast, full }
}

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} does not exist: build it first (pnpm --filter codex-auth build)`)
})

// ---------------------------------------------------------------------------------------------
// Same output on both paths
// ---------------------------------------------------------------------------------------------

/** What each situation must produce (beyond being identical on both paths). */
const expected: Record<string, Record<"status" | "json" | "token", { code: number; out?: RegExp; err?: RegExp }>> = {
  "not logged in": {
    status: { code: 1, out: /^Not logged in\n/ },
    json: { code: 1, out: /"logged_in": false/ },
    token: { code: 1, err: /^error: Not logged in/ }
  },
  "API key": {
    status: { code: 0, out: /^API key configured - sk-proj-\*\*\*/ },
    json: { code: 0, out: /"mode": "apikey"/ },
    token: { code: 0, out: /^sk-proj-fastpath0123456789abcdef\n$/ }
  },
  "ChatGPT tokens": {
    status: { code: 0, out: /^Logged in using ChatGPT\n {2}Account: {4}fast@example\.com/ },
    json: { code: 0, out: /"account_id": "ws-fast"/ },
    token: { code: 0, out: /^eyJ[\w-]+\.[\w-]+\.c2ln\n$/ }
  },
  "auth.json readable by others (a warning, no change)": {
    status: { code: 0, out: /^Logged in using ChatGPT\n/, err: /^warning: .*auth\.json is readable by others \(mode 644\); run `chmod 600 .*auth\.json` \(codex-auth writes it 600 at its next save\)\n$/ },
    json: { code: 0, out: /"mode": "chatgpt"/, err: /^warning: .*readable by others \(mode 644\).*\n$/ },
    token: { code: 0, out: /^eyJ[\w-]+\.[\w-]+\.c2ln\n$/, err: /^warning: .*readable by others \(mode 644\).*\n$/ }
  },
  "corrupt auth.json": {
    status: { code: 5, err: /unreadable/ },
    json: { code: 5, err: /unreadable/ },
    token: { code: 5, err: /unreadable/ }
  },
  "policy violation (managed configuration forces API key login)": {
    status: { code: 4, err: /forced_login_method.*logged out/ },
    json: { code: 4, err: /forced_login_method.*logged out/ },
    token: { code: 4, err: /forced_login_method.*logged out/ }
  },
  "a config.toml as Codex users have, with a policy the credentials meet": {
    status: { code: 0, out: /^Logged in using ChatGPT\n/ },
    json: { code: 0, out: /"forced_chatgpt_workspace_id": \{\n\s+"value": \[\n\s+"ws-fast"\n\s+\],\n\s+"source": "user: .*config\.toml"/ },
    token: { code: 0, out: /^eyJ[\w-]+\.[\w-]+\.c2ln\n$/ }
  },
  "a malformed config.toml": {
    status: { code: 8, err: /config\.toml/ },
    json: { code: 8, err: /config\.toml/ },
    token: { code: 8, err: /config\.toml/ }
  },
  "the auto store (no keyring here: auth.json, with a warning)": {
    status: { code: 0, out: /^Logged in using ChatGPT\n/, err: /keyring is unavailable/ },
    json: { code: 0, out: /"fallback_reason": "no_dbus_session/, err: /keyring is unavailable/ },
    token: { code: 0, out: /^eyJ[\w-]+\.[\w-]+\.c2ln\n$/, err: /keyring is unavailable/ }
  },
  "CODEX_API_KEY in the environment": {
    status: { code: 0, out: /CODEX_API_KEY/ },
    json: { code: 0, out: /"CODEX_API_KEY": true/ },
    token: { code: 0, out: /^sk-proj-fromenv0123456789abcdef\n$/ }
  },
  "a ChatGPT session that must sign in again": {
    status: { code: 3, out: /refresh_token_reused/ },
    json: { code: 3, out: /"reason": "refresh_token_reused"/ },
    token: { code: 0, out: /^eyJ[\w-]+\.[\w-]+\.c2ln\n$/ }
  }
}

const commands = [
  { key: "status", args: ["login", "status"], program: "status" },
  { key: "json", args: ["login", "status", "--json"], program: "status" },
  { key: "token", args: ["token"], program: "token" }
] as const

describe("fast path and full CLI print the same bytes and exit the same way", () => {
  for (const s of situations) {
    for (const c of commands) {
      it(`${s.name}: codex-auth ${c.args.join(" ")}`, async () => {
        const { fast, full } = await both(s, c.args)
        const declined = s.leanDeclines?.includes(c.program) === true
        expect(fast.payloads, declined ? "the lean path declined, the fast path ran" : "the lean path ran alone").toEqual(
          declined ? [`fast:${c.program}`, `lean:${c.program}`] : [`lean:${c.program}`]
        )
        expect(full.payloads, "-c ran the full CLI").toEqual(["full"])
        expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({ code: full.code, stdout: full.stdout, stderr: full.stderr })
        const want = expected[s.name]![c.key]
        expect(fast.code, fast.stderr).toBe(want.code)
        if (want.out !== undefined) expect(fast.stdout).toMatch(want.out)
        if (want.err !== undefined) expect(fast.stderr).toMatch(want.err)
        if (want.out === undefined && c.key === "token") expect(fast.stdout).toBe("")
      })
    }
  }

  it("--codex-home DIR selects the same directory on both paths (ChatGPT tokens, status --json and token)", async () => {
    const s = situations.find((x) => x.name === "ChatGPT tokens")!
    for (const args of [["login", "status", "--json"], ["token"]]) {
      const { fast, full } = await both(s, args, { codexHomeFlag: true })
      expect(fast.payloads).toHaveLength(1)
      expect(fast.payloads[0]).toMatch(/^lean:/)
      expect(full.payloads).toEqual(["full"])
      expect(fast).toMatchObject({ code: 0, stdout: full.stdout, stderr: full.stderr })
      expect(fast.stdout).toContain(args[0] === "token" ? "eyJ" : join(root, "codex-home"))
    }
  })

  it("the policy violation logged out the stored credentials on both paths", async () => {
    const s = situations.find((x) => x.managed !== undefined)!
    for (const extra of [[], ["-c", "x=1"]]) {
      const { env, home } = prepare(s)
      const r = await runCli([...extra, "login", "status"], env)
      expect(r.code).toBe(4)
      expect(existsSync(join(home, "auth.json"))).toBe(false)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// token with an expired access token: handed over to the full CLI (with the refresh lock) before any request
// ---------------------------------------------------------------------------------------------

describe("token with an expired access token", () => {
  let server: Server
  let url = ""
  const bodies: Array<string> = []
  const newAccess = jwt({ ...chatgptClaims(nowS() + 7200), scope: "openid", n: 2 })
  const newId = jwt({ ...chatgptClaims(nowS() + 7200), n: 2 })

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = ""
      req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
        bodies.push(`${req.method} ${req.url} ${body}`)
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ id_token: newId, access_token: newAccess, refresh_token: "rt-fast-2", expires_in: 7200 }))
      })
    })
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`
  })
  afterAll(() => new Promise<void>((done) => server.close(() => done())))

  it("the lean and fast paths hand over, the full CLI sends exactly one refresh, and all print the new token", async () => {
    const s: Situation = { name: "expired", files: { "auth.json": chatgptAuth(nowS() - 120) } }
    // The auto store (no D-Bus here: it falls back to the file) is not the lean path's: the fast path runs it.
    const auto: Situation = { name: "expired-auto", files: { "auth.json": chatgptAuth(nowS() - 120), "config.toml": "cli_auth_credentials_store = \"auto\"\n" } }
    const results: Array<Run> = []
    for (const [situation, extra] of [[s, []], [s, ["-c", "x=1"]], [auto, []]] as const) {
      const { env, home } = prepare(situation)
      const noBus: Record<string, string> = situation === auto ? { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(home, "no-bus")}` } : {}
      bodies.length = 0
      const r = await runCli([...extra, "token"], { ...env, ...noBus, CODEX_REFRESH_TOKEN_URL_OVERRIDE: url })
      expect(r, r.stderr).toMatchObject({ code: 0, stdout: `${newAccess}\n` })
      if (situation === auto) expect(r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("warning: the keyring is unavailable [no_dbus_session]")), r.stderr).toEqual([])
      else expect(r.stderr).toBe("")
      expect(bodies, "one refresh POST per run, none from the fast attempt").toHaveLength(1)
      expect(bodies[0]).toMatch(/^POST \/oauth\/token .*"grant_type":"refresh_token"/)
      expect(bodies[0]).toContain("\"refresh_token\":\"rt-fast-1\"")
      const stored = JSON.parse(readFileSync(join(home, "auth.json"), "utf8")) as { tokens: { refresh_token: string; access_token: string } }
      expect(stored.tokens).toMatchObject({ refresh_token: "rt-fast-2", access_token: newAccess })
      results.push(r)
    }
    expect(results[0]!.payloads, "lean took the refresh lock and handed it to the full CLI").toEqual(["full", "lean:token"])
    expect(results[1]!.payloads).toEqual(["full"])
    expect(results[2]!.payloads, "lean declined, the fast attempt handed over (the lock parked), then the full CLI").toEqual(["fast:token", "full", "lean:token"])
  })
})

/**
 * A clean terminal and no secret in usage errors (issue 14, defects 5, 6 and part of 8), with the
 * built CLI in real processes:
 *
 * - control sequences (OSC window title with BEL, clear screen, newlines, C1, bidi overrides) in
 *   the ID token's email, plan and workspace — from the mock issuer at the end of a real device
 *   login, and from a crafted auth.json — are shown escaped by `login status` (text; `--json`
 *   stays valid JSON and decodes to the exact claims) and "Logged in as …": no ESC, BEL, C1 or
 *   bidi byte on stdout or stderr;
 * - a hostile issuer (a small HTTP server here) whose access token holds a newline or ESC: the
 *   refresh and the sign-in fail as malformed answers (exit 6) and nothing is stored; its
 *   `error_description` and error codes with ESC are shown escaped; a user_code that is not a
 *   code gets a hint;
 * - a stored API key or access token with control characters: exit 5 with a hint, never printed;
 * - `login sk-…`, `login --with-api-key=sk-…`, `token eyJ…`: exit 2, a hint, the secret nowhere;
 *   an unknown command or flag: `error:` + `hint:` on stderr, nothing on stdout, exit 2.
 */
import { startMockIssuer } from "@codex-auth/mock-server"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { dirname, join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { runCli, runNode, tempCodexHome, workerPath } from "../src/Cli.ts"
import { fakeJwt } from "../src/reliability/documents.ts"

/** Bytes that drive a terminal: C0 except newline, DEL, C1, bidi embeddings/overrides/isolates. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

const expectClean = (r: { readonly stdout: string; readonly stderr: string }, what: string) => {
  expect(RAW.exec(r.stdout)?.[0].charCodeAt(0), `${what}: raw control character on stdout:\n${r.stdout}`).toBeUndefined()
  expect(RAW.exec(r.stderr)?.[0].charCodeAt(0), `${what}: raw control character on stderr:\n${r.stderr}`).toBeUndefined()
}

const homes: Array<string> = []
const home = () => {
  const h = tempCodexHome()
  mkdirSync(h, { recursive: true, mode: 0o700 })
  homes.push(h)
  return h
}
afterAll(() => {
  for (const h of homes) rmSync(dirname(h), { recursive: true, force: true })
})

const HOSTILE_EMAIL = "evil\u001b]0;pwned\u0007\u001b[2J\r\nInjected: line\u009b31m\u202e@example.com"
const HOSTILE_PLAN = "pro\u001b[31m"
const HOSTILE_WORKSPACE = "ws\u001b[2J\u2066x"

const now = () => Math.floor(Date.now() / 1000)
const idToken = (claims: Record<string, unknown> = {}) =>
  fakeJwt({
    email: HOSTILE_EMAIL,
    exp: now() + 3600,
    "https://api.openai.com/auth": { chatgpt_plan_type: HOSTILE_PLAN, chatgpt_account_id: HOSTILE_WORKSPACE, chatgpt_user_id: "user-1" },
    ...claims
  })

const writeAuth = (codexHome: string, doc: unknown) => {
  writeFileSync(join(codexHome, "auth.json"), JSON.stringify(doc, null, 2), { mode: 0o600 })
}

const chatgptDoc = (options: { readonly accessToken?: string; readonly issuer?: string; readonly accessExp?: number } = {}) => ({
  auth_mode: "chatgpt",
  OPENAI_API_KEY: null,
  tokens: {
    id_token: idToken(),
    access_token: options.accessToken ?? fakeJwt({ exp: options.accessExp ?? now() + 3600 }),
    refresh_token: "rt-stored-refresh-token",
    account_id: null,
    ...(options.issuer === undefined ? {} : { oauth_provenance: { issuer: options.issuer, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" } })
  },
  last_refresh: new Date().toISOString()
})

describe("claims with control sequences are shown escaped", () => {
  it("login status (text, fast and full paths) and --json (valid, exact) from a crafted auth.json", async () => {
    const h = home()
    writeAuth(h, chatgptDoc())
    // `login status` takes the lean path; with `--store file` the full CLI renders the same report.
    for (const args of [["login", "status"], ["--store", "file", "login", "status"]]) {
      const r = await runCli(["--codex-home", h, ...args])
      expect(r.code, r.stderr).toBe(0)
      expectClean(r, args.join(" "))
      expect(r.stdout).toContain("  Account:    evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0aInjected: line\\x9b31m\\u202e@example.com")
      expect(r.stdout).toContain("  Plan:       pro\\x1b[31m")
      expect(r.stdout).toContain("  Workspace:  ws\\x1b[2J\\u2066x")
      expect(r.stdout).not.toMatch(/^Injected/m)
    }
    for (const args of [["login", "status", "--json"], ["--store", "file", "login", "status", "--json"]]) {
      const r = await runCli(["--codex-home", h, ...args])
      expect(r.code, r.stderr).toBe(0)
      expectClean(r, args.join(" "))
      const report = JSON.parse(r.stdout)
      expect(report.account).toMatchObject({ email: HOSTILE_EMAIL, plan: HOSTILE_PLAN, account_id: HOSTILE_WORKSPACE })
    }
  })

  it("the end of a real device login at the mock issuer, then status, show the hostile email escaped", async () => {
    const mock = await startMockIssuer({
      autoApprove: true,
      config: {
        device: { intervalSeconds: 0 },
        accounts: [{ email: HOSTILE_EMAIL, plan: "plus", workspaces: [{ id: "11111111-1111-4111-8111-111111111111", name: "Evil\u001b[2J", plan: HOSTILE_PLAN }] }]
      }
    })
    try {
      const h = home()
      const login = await runCli(["--codex-home", h, "login", "--device-auth", "--issuer", mock.url])
      expect(login.code, login.stderr).toBe(0)
      expectClean(login, "login --device-auth")
      expect(login.stderr).toContain("Logged in using ChatGPT as evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0aInjected: line\\x9b31m\\u202e@example.com (plan pro\\x1b[31m,")
      expect(login.stderr).not.toMatch(/^Injected/m)
      // Stored as the issuer sent it: the claims are data, only their display is escaped.
      const stored = JSON.parse(readFileSync(join(h, "auth.json"), "utf8"))
      expect(JSON.parse(Buffer.from(stored.tokens.id_token.split(".")[1], "base64url").toString("utf8")).email).toBe(HOSTILE_EMAIL)

      const status = await runCli(["--codex-home", h, "login", "status"])
      expect(status.code, status.stderr).toBe(0)
      expectClean(status, "login status")
      expect(status.stdout).toContain("evil\\x1b]0;pwned\\x07")
      const json = await runCli(["--codex-home", h, "login", "status", "--json"])
      expectClean(json, "login status --json")
      expect(JSON.parse(json.stdout).account.email).toBe(HOSTILE_EMAIL)
    } finally {
      await mock.close()
    }
  })
})

describe("doctor", () => {
  it("a CA bundle path with control sequences is shown escaped (text), exact in --json", async () => {
    const h = home()
    const path = join(dirname(h), "ca\u001b]0;pwned\u0007\u001b[2J.pem")
    const env = { SSL_CERT_FILE: path }
    const text = await runCli(["--codex-home", h, "doctor", "--offline"], { env })
    expect(text.code).toBe(6)
    expectClean(text, "doctor")
    expect(text.stdout).toContain("ca\\x1b]0;pwned\\x07\\x1b[2J.pem")
    const json = await runCli(["--codex-home", h, "doctor", "--offline", "--json"], { env })
    expectClean(json, "doctor --json")
    expect(JSON.parse(json.stdout).network.ca.path).toBe(path)
  })
})

describe("stored tokens and keys with control characters are malformed stored credentials", () => {
  const cases: ReadonlyArray<readonly [string, (h: string) => unknown, string]> = [
    ["an API key with OSC and BEL", () => ({ auth_mode: "apikey", OPENAI_API_KEY: "sk-proj-STOREDSECRET\u001b]0;pwned\u0007tail" }), "OPENAI_API_KEY"],
    ["an API key with a newline", () => ({ auth_mode: "apikey", OPENAI_API_KEY: "sk-proj-STOREDSECRET\nexport X=1" }), "OPENAI_API_KEY"],
    ["an access token with ESC[2J", () => chatgptDoc({ accessToken: `${fakeJwt({ exp: now() + 3600 })}STOREDSECRET\u001b[2J` }), "access_token"]
  ]
  it.each(cases)("%s: token and status exit 5 naming the field, with a hint; the value is never printed", async (_name, doc, field) => {
    const h = home()
    writeAuth(h, doc(h))
    const before = readFileSync(join(h, "auth.json"))
    for (const args of [["token"], ["login", "status"], ["login", "status", "--json"]]) {
      const r = await runCli(["--codex-home", h, ...args])
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(5)
      expect(r.stdout).toBe("")
      expectClean(r, args.join(" "))
      expect(r.stderr).toContain(`\`${field}\``)
      expect(r.stderr).toMatch(/contains (control characters|whitespace)/)
      expect(r.stderr).toMatch(/^hint: .*codex-auth login/m)
      expect(r.stderr).not.toContain("STOREDSECRET")
    }
    expect(readFileSync(join(h, "auth.json")).equals(before)).toBe(true)
  })
})

/** A hostile issuer: the device endpoints and the token endpoint answer what the test says. */
interface Hostile {
  readonly url: string
  readonly requests: Array<{ readonly path: string; readonly body: string }>
  answer: {
    usercode?: unknown
    /** The code exchange (form-encoded `authorization_code` grant). */
    exchange?: { readonly status: number; readonly body: unknown }
    /** The refresh (JSON `refresh_token` grant). */
    refresh?: { readonly status: number; readonly body: unknown }
  }
  readonly close: () => Promise<void>
}

const startHostile = async (): Promise<Hostile> => {
  const requests: Hostile["requests"] = []
  const state: Hostile = { url: "", requests, answer: {}, close: () => Promise.resolve() }
  const reply = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
      const path = (req.url ?? "").split("?")[0]!
      requests.push({ path, body })
      if (path === "/api/accounts/deviceauth/usercode") return reply(res, 200, state.answer.usercode ?? { device_auth_id: "dev-1", user_code: "ABCD-1234", interval: "0" })
      if (path === "/api/accounts/deviceauth/token") return reply(res, 200, { authorization_code: "code-1", code_challenge: "x", code_verifier: "verifier-1" })
      if (path === "/oauth/token") {
        const a = body.startsWith("{") ? state.answer.refresh : state.answer.exchange
        return a === undefined ? reply(res, 500, { error: "unexpected" }) : reply(res, a.status, a.body)
      }
      reply(res, 404, { error: "not_found" })
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r()))
  })
  return state
}

describe("a hostile issuer", () => {
  const goodTokens = () => ({ id_token: idToken({ email: "user@example.com" }), access_token: fakeJwt({ exp: now() + 3600 }), refresh_token: "rt-new" })

  for (const [name, accessToken] of [["a newline", "at-ISSUEDSECRET\nX-Injected: 1"], ["ESC[2J", "at-ISSUEDSECRET\u001b[2J"], ["OSC + BEL", "at-ISSUEDSECRET\u001b]0;pwned\u0007"]] as const) {
    it(`an access token with ${name} from the refresh: exit 6, nothing saved, nothing printed`, async () => {
      const issuer = await startHostile()
      try {
        const h = home()
        // Expired: `token` must refresh, at the issuer the tokens came from.
        writeAuth(h, chatgptDoc({ issuer: issuer.url, accessExp: now() - 60 }))
        const before = readFileSync(join(h, "auth.json"))
        issuer.answer.refresh = { status: 200, body: { ...goodTokens(), access_token: accessToken } }
        const r = await runCli(["--codex-home", h, "token"])
        expect(r.code, r.stderr).toBe(6)
        expect(r.stdout).toBe("")
        expectClean(r, "token")
        expect(r.stderr).toContain("malformed token response (access_token contains")
        expect(r.stderr).toMatch(/^hint: .+/m)
        expect(r.stderr).not.toContain("ISSUEDSECRET")
        expect(issuer.requests.filter((q) => q.path === "/oauth/token")).toHaveLength(1)
        expect(readFileSync(join(h, "auth.json")).equals(before)).toBe(true)
      } finally {
        await issuer.close()
      }
    })

    it(`an access token with ${name} from the sign-in's code exchange: exit 6, nothing stored`, async () => {
      const issuer = await startHostile()
      try {
        const h = home()
        issuer.answer.exchange = { status: 200, body: { ...goodTokens(), access_token: accessToken } }
        const r = await runCli(["--codex-home", h, "login", "--device-auth", "--issuer", issuer.url])
        expect(r.code, r.stderr).toBe(6)
        expect(r.stdout).toBe("")
        expectClean(r, "login --device-auth")
        expect(r.stderr).toContain("the issuer's token response is malformed: access_token contains")
        expect(r.stderr).toMatch(/^hint: .+/m)
        expect(r.stderr).not.toContain("ISSUEDSECRET")
        expect(existsSync(join(h, "auth.json"))).toBe(false)
      } finally {
        await issuer.close()
      }
    })
  }

  it("an error_description with OSC, BEL and ESC[2J is shown escaped (sign-in), and so is an error code (refresh)", async () => {
    const issuer = await startHostile()
    try {
      const h = home()
      issuer.answer.exchange = { status: 400, body: { error: "invalid_grant", error_description: "bad\u001b]0;pwned\u0007\u001b[2J\r\nerror: fake line" } }
      const login = await runCli(["--codex-home", h, "login", "--device-auth", "--issuer", issuer.url])
      expect(login.code, login.stderr).toBe(7)
      expectClean(login, "login --device-auth")
      expect(login.stderr).toContain("bad\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0aerror: fake line")
      expect(login.stderr.split("\n").filter((l) => l.startsWith("error:"))).toHaveLength(1)
      expect(login.stderr).toMatch(/^hint: .+/m)

      writeAuth(h, chatgptDoc({ issuer: issuer.url, accessExp: now() - 60 }))
      issuer.answer.refresh = { status: 400, body: { error: { code: "weird\u001b]0;pwned\u0007", message: "x\u001b[2J" } } }
      const token = await runCli(["--codex-home", h, "token"])
      expect(token.code, token.stderr).toBe(6)
      expectClean(token, "token")
      expect(token.stderr).toContain("weird\\x1b]0;pwned\\x07")
    } finally {
      await issuer.close()
    }
  })

  it("a user_code that is not a code (escape sequences) is never shown: exit 6 with a hint naming the next step", async () => {
    const issuer = await startHostile()
    try {
      const h = home()
      issuer.answer.usercode = { device_auth_id: "dev-1", user_code: "\u001b[2J\u001b]0;pwned\u0007ABCD", interval: "0" }
      const r = await runCli(["--codex-home", h, "login", "--device-auth", "--issuer", issuer.url])
      expect(r.code, r.stderr).toBe(6)
      expectClean(r, "login --device-auth")
      expect(r.stderr).toContain("the issuer's user_code is not a device code")
      expect(r.stderr).toMatch(/^hint: .*--issuer.*codex-auth login --device-auth/m)
      expect(r.stderr).not.toContain("pwned")
      expect(existsSync(join(h, "auth.json"))).toBe(false)
    } finally {
      await issuer.close()
    }
  })
})

describe("usage errors", () => {
  const API_KEY = "sk-proj-ARGVSECRET0123456789abcdef"
  const JWT = fakeJwt({ sub: "ARGVSECRET", exp: now() + 3600 })

  it.each([
    ["login <key>", ["login", API_KEY], API_KEY],
    ["login --with-api-key=<key>", ["login", `--with-api-key=${API_KEY}`], API_KEY],
    ["login --with-api-key <key>", ["login", "--with-api-key", API_KEY], API_KEY],
    ["token <jwt>", ["token", JWT], JWT],
    ["login status <jwt>", ["login", "status", JWT], JWT],
    ["login --timeout <key>", ["login", "--timeout", API_KEY], API_KEY],
    ["--store <key>", ["--store", API_KEY, "login", "status"], API_KEY]
  ] as const)("%s: exit 2, a hint, the secret nowhere on stdout or stderr", async (_name, args, secret) => {
    const h = home()
    const r = await runCli(["--codex-home", h, ...args], { input: "" })
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toMatch(/^error: .+/m)
    expect(r.stderr).toMatch(/^hint: .+/m)
    for (const text of [r.stdout, r.stderr]) {
      expect(text).not.toContain(secret)
      expect(text).not.toContain("ARGVSECRET")
      expect(text).not.toContain(secret.slice(-12))
    }
    expect(existsSync(join(h, "auth.json"))).toBe(false)
  })

  it("--with-api-key=VALUE points at stdin", async () => {
    const r = await runCli(["--codex-home", home(), "login", `--with-api-key=${API_KEY}`])
    expect(r.stderr).toContain("error: --with-api-key takes no value: the API key is read from stdin")
    expect(r.stderr).toContain("printenv OPENAI_API_KEY | codex-auth login --with-api-key")
  })

  it.each([
    ["an unknown command", ["frobnicate"], "error: unknown command \"frobnicate\" for `codex-auth`"],
    ["an unknown subcommand", ["login", "stauts"], "error: unknown command \"stauts\" for `codex-auth login`"],
    ["an unknown flag", ["login", "--frob"], "error: unknown flag --frob for `codex-auth login`"],
    ["an unknown flag on token", ["token", "--frob"], "error: unknown flag --frob for `codex-auth token`"],
    ["an unknown flag on status", ["login", "status", "--frob"], "error: unknown flag --frob for `codex-auth login status`"],
    ["an extra argument", ["logout", "extra"], "error: unexpected argument \"extra\" for `codex-auth logout`"]
  ] as const)("%s: error: + hint: on stderr, nothing on stdout (no help), exit 2", async (_name, args, message) => {
    const r = await runCli(["--codex-home", home(), ...args])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.split("\n")[0]).toBe(message)
    expect(r.stderr).toMatch(/^hint: (Did you mean `status`\? )?Run `codex-auth --help`/m)
    expect(r.stderr).not.toContain("USAGE")
  })

  it("--help still prints the help, on stdout, exit 0", async () => {
    const r = await runCli(["login", "--help"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("USAGE")
    expect(r.stderr).toBe("")
  })

  it("the device-login worker never echoes a secret-shaped argument either", async () => {
    const r = await runNode(workerPath, [API_KEY])
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).not.toContain("ARGVSECRET")
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toMatchObject({ type: "failed", reason: "usage" })
  })
})

/**
 * Hostile answers and oversized inputs against the built CLI and worker, as real processes with
 * their peak RSS measured (GNU `time -f %M`, else `VmHWM` polled from /proc):
 *
 * - `token` on an expired session whose refresh is answered with an endless chunked 200, or a
 *   200 MB `Content-Length`: exit 6 in seconds, "the issuer's answer exceeded 1 MiB" + `hint:`,
 *   bounded RSS; the stored refresh token is kept.
 * - `login --device-auth` against a user-code endpoint answering the same way: exit 6, same.
 * - A 2 MiB auth.json (and a 1 GB sparse one): `token` and `login status` exit 5 with a hint,
 *   the file byte- and mode-identical, never read whole.
 * - The device-login worker fed a 50 MB stdin line: RSS bounded, the line reported on stderr,
 *   `cancel` afterwards still understood.
 * - A connection reset, an issuer process killed mid-answer, and a dead proxy: exit 6 with
 *   `hint:`; the proxy is named (credentials masked).
 *
 * Every temp dir is removed, every server closed, and only processes started here are stopped
 * (by pid).
 */
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs"
import { createServer, type Server, type ServerResponse } from "node:http"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, workerPath } from "../src/Cli.ts"
import { writeChatgptAuth } from "../src/RealCodex.ts"

const GNU_TIME = "/usr/bin/time"
const MB = 1024 * 1024
/** Peak RSS allowed to any process here; without the caps `token` reached 9.7 GB. */
const RSS_BOUND_MB = 300

const dirs: Array<string> = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "codex-auth-bounded-"))
  dirs.push(d)
  return d
}
const codexHome = () => {
  const home = join(tempDir(), "codex-home")
  mkdirSync(home, { mode: 0o700 })
  return home
}

interface Measured {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly elapsedMs: number
  readonly peakRssMb: number
}

const hasGnuTime = (() => {
  try {
    return existsSync(GNU_TIME) && statSync(GNU_TIME).isFile()
  } catch {
    return false
  }
})()

/**
 * Runs `node <script> <args>` and measures its peak RSS. `feed` writes to its stdin (then ends
 * it) once `ready` matches stdout; without `ready` stdin is ended at once.
 */
const measured = (
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined>,
  options: { readonly ready?: RegExp; readonly feed?: (stdin: NodeJS.WritableStream) => Promise<void>; readonly timeoutMs?: number } = {}
): Promise<Measured> =>
  new Promise((resolve, reject) => {
    const rssFile = join(tempDir(), "rss")
    const command = hasGnuTime ? GNU_TIME : process.execPath
    const argv = hasGnuTime ? ["-f", "%M", "-o", rssFile, process.execPath, script, ...args] : [script, ...args]
    const started = Date.now()
    const child = spawn(command, argv, { env: cleanEnv(env), stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let hwmKb = 0
    const poll = hasGnuTime
      ? undefined
      : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
          if (m) hwmKb = Math.max(hwmKb, Number(m[1]))
        } catch {
          // exited
        }
      }, 10)
    let fed = false
    const startFeed = () => {
      if (fed) return
      fed = true
      if (options.feed === undefined) child.stdin.end()
      else options.feed(child.stdin).then(() => child.stdin.end(), () => child.stdin.destroy())
    }
    child.stdin.on("error", () => {})
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
      if (options.ready?.test(stdout)) startFeed()
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    if (options.ready === undefined) startFeed()
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      if (poll) clearInterval(poll)
      const elapsedMs = Date.now() - started
      const kb = hasGnuTime ? Number(readFileSync(rssFile, "utf8").trim().split("\n").at(-1)) : hwmKb
      resolve({ code, stdout, stderr, elapsedMs, peakRssMb: Math.round(kb / 1024) })
    })
  })

/** Figures for docs/reliability.md, printed once at the end. */
const figures: Array<string> = []
const record = (name: string, r: Measured) => figures.push(`${name}: exit ${r.code}, ${(r.elapsedMs / 1000).toFixed(2)} s, peak RSS ${r.peakRssMb} MB`)

// --- a hostile issuer in this process -------------------------------------------------------

const chunk = Buffer.alloc(64 * 1024, " ")
/** Keeps writing 64 KiB chunks for as long as the client reads. */
const pump = (res: ServerResponse) => {
  const go = () => {
    while (!res.destroyed && res.write(chunk)) {
      // until the socket buffer is full
    }
    if (!res.destroyed) res.once("drain", go)
  }
  go()
}

let hostile: Server
let hostileUrl: string
/** Body bytes the hostile server got out per request path, to show the client hung up early. */
const sent: Record<string, number> = {}
let mock: RunningMockIssuer

beforeAll(async () => {
  hostile = createServer((req, res) => {
    req.resume()
    const path = req.url ?? ""
    const mode = path.split("/")[1] ?? ""
    sent[path] = 0
    const write = res.write.bind(res)
    res.write = ((data: Buffer | string, ...rest: Array<never>) => {
      sent[path] = (sent[path] ?? 0) + Buffer.byteLength(data)
      return write(data, ...rest)
    }) as typeof res.write
    if (mode === "endless") {
      res.writeHead(200, { "content-type": "application/json" })
      res.write("{\"access_token\":\"")
      pump(res)
    } else if (mode === "declared") {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(200 * MB) })
      pump(res)
    } else if (mode === "reset") {
      req.socket.resetAndDestroy()
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", () => r()))
  hostileUrl = `http://127.0.0.1:${(hostile.address() as net.AddressInfo).port}`
  mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 }, device: { intervalSeconds: 1 } } })
})

afterAll(async () => {
  hostile?.closeAllConnections()
  await new Promise<void>((r) => (hostile ? hostile.close(() => r()) : r()))
  await mock?.close()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  if (figures.length > 0) process.stdout.write(`\n${figures.map((f) => `  ${f}`).join("\n")}\n`)
})

/** An expired ChatGPT session whose refresh goes to `refreshUrl`. */
const expiredSession = async (refreshUrl: string) => {
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: -120 })
  const home = codexHome()
  writeChatgptAuth(home, tokens, new Date(Date.now() - 3600_000))
  return { home, tokens, env: { CODEX_HOME: home, CODEX_REFRESH_TOKEN_URL_OVERRIDE: refreshUrl } }
}

const expectNetworkError = (r: Measured, ...parts: Array<string>) => {
  expect(r.code, r.stderr).toBe(6)
  expect(r.stderr).toMatch(/^error: /m)
  for (const p of parts) expect(r.stderr).toContain(p)
  expect(r.stderr).toMatch(/^hint: \S/m)
}

describe("issuer answers above 1 MiB", () => {
  for (const mode of ["endless", "declared"] as const) {
    it(`token: a refresh answered with ${mode === "endless" ? "an endless chunked 200" : "a 200 MB Content-Length"} exits 6 in seconds with bounded memory`, async () => {
      const { env, home, tokens } = await expiredSession(`${hostileUrl}/${mode}/oauth/token`)
      const r = await measured(cliPath, ["token"], env)
      record(`token, refresh answered ${mode}`, r)
      expectNetworkError(r, "the issuer's answer exceeded 1 MiB", `${hostileUrl}/${mode}/oauth/token`)
      expect(r.stdout).toBe("")
      expect(r.stderr).not.toContain(tokens.refresh_token)
      expect(r.elapsedMs).toBeLessThan(5000)
      expect(r.peakRssMb).toBeLessThan(RSS_BOUND_MB)
      // The client hung up: the server got out a few MiB at most, not the whole answer.
      const out = sent[`/${mode}/oauth/token`] ?? 0
      figures.push(`  (the hostile issuer got ${(out / MB).toFixed(1)} MiB out before the hang-up)`)
      expect(out).toBeLessThan(64 * MB)
      // Nothing was saved over the session: the stored refresh token is still the one we wrote.
      expect(JSON.parse(readFileSync(join(home, "auth.json"), "utf8")).tokens.refresh_token).toBe(tokens.refresh_token)
    })

    it(`login --device-auth: a user-code answer ${mode === "endless" ? "that never ends" : "of 200 MB"} exits 6 in seconds with bounded memory`, async () => {
      const home = codexHome()
      const r = await measured(cliPath, ["--codex-home", home, "login", "--device-auth", "--issuer", `${hostileUrl}/${mode}`], {})
      record(`login --device-auth, usercode answered ${mode}`, r)
      expectNetworkError(r, "the issuer's answer exceeded 1 MiB", "/api/accounts/deviceauth/usercode")
      expect(r.elapsedMs).toBeLessThan(5000)
      expect(r.peakRssMb).toBeLessThan(RSS_BOUND_MB)
      expect(existsSync(join(home, "auth.json"))).toBe(false)
    })
  }
})

describe("an oversized auth.json", () => {
  const padded = (size: number) => {
    const doc = JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: "sk-test-abcdef123456", tokens: null, last_refresh: null })
    return doc + " ".repeat(size - doc.length)
  }

  it("2 MiB: token and login status exit 5 with a hint; the file is byte- and mode-identical", async () => {
    const home = codexHome()
    const path = join(home, "auth.json")
    writeFileSync(path, padded(2 * MB), { mode: 0o600 })
    chmodSync(path, 0o600)
    const before = readFileSync(path)
    const beforeStat = statSync(path)
    for (const args of [["token"], ["login", "status"]]) {
      const r = await measured(cliPath, args, { CODEX_HOME: home })
      record(`${args.join(" ")}, 2 MiB auth.json`, r)
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(`error: Could not read credentials (file: ${path}): it is ${2 * MB} bytes, more than the 1 MiB a credentials file can be; it was not read`)
      expect(r.stderr).toContain(`hint: Move ${path} aside`)
      expect(r.stdout).not.toContain("sk-test")
      expect(r.peakRssMb).toBeLessThan(RSS_BOUND_MB)
    }
    expect(readFileSync(path).equals(before)).toBe(true)
    const after = statSync(path)
    expect(after.mode).toBe(beforeStat.mode)
    expect(after.mtimeMs).toBe(beforeStat.mtimeMs)
  })

  it("1 GB (sparse): refused without being read, quickly and with bounded memory", async () => {
    const home = codexHome()
    const path = join(home, "auth.json")
    writeFileSync(path, padded(1024), { mode: 0o600 })
    truncateSync(path, 1024 * MB)
    const r = await measured(cliPath, ["token"], { CODEX_HOME: home })
    record("token, 1 GB auth.json", r)
    expect(r.code, r.stderr).toBe(5)
    expect(r.stderr).toContain(`it is ${1024 * MB} bytes, more than the 1 MiB`)
    expect(r.stderr).toMatch(/^hint: /m)
    expect(r.elapsedMs).toBeLessThan(5000)
    expect(r.peakRssMb).toBeLessThan(RSS_BOUND_MB)
    expect(statSync(path).size).toBe(1024 * MB)
  })
})

describe("the device-login worker's stdin", () => {
  it("a 50 MB line is dropped without being buffered; a later cancel still works", async () => {
    const home = codexHome()
    const line = Buffer.alloc(MB, "a")
    const r = await measured(workerPath, ["--codex-home", home, "--issuer", mock.url], {}, {
      ready: /"type":"code_issued"/,
      feed: async (stdin) => {
        for (let i = 0; i < 50; i++) {
          if (!stdin.write(line)) await new Promise((ok) => stdin.once("drain", ok))
        }
        stdin.write("\ncancel\n")
        // Keep stdin open until the worker exits on its own (the pipe closes with it).
        await new Promise((ok) => stdin.once("close", ok))
      },
      timeoutMs: 60_000
    })
    record("worker, 50 MB stdin line then cancel", r)
    expect(r.code, r.stderr).toBe(130)
    expect(r.stderr).toContain(`warning: ignored a stdin line of ${50 * MB} bytes (longer than 64 KiB`)
    expect(r.stderr).toContain("cancelling (cancel on stdin)")
    expect(r.peakRssMb).toBeLessThan(150)
    const last = JSON.parse(r.stdout.trim().split("\n").at(-1)!)
    expect(last).toMatchObject({ type: "failed", reason: "cancelled", exit_code: 130 })
  })
})

describe("network failures name their cause and the next step", () => {
  it("a connection reset by the issuer", async () => {
    const { env } = await expiredSession(`${hostileUrl}/reset/oauth/token`)
    const r = await measured(cliPath, ["token"], env)
    record("token, connection reset", r)
    expectNetworkError(r, "the connection was reset by the other side before an answer came (ECONNRESET)", "check that it is reachable")
  })

  it("an issuer process killed in the middle of its answer", async () => {
    // A separate issuer process that starts an answer and is then killed (by its pid) mid-body.
    const script = `
      const http = require("node:http")
      const server = http.createServer((req, res) => {
        req.resume()
        res.writeHead(200, { "content-type": "application/json", "content-length": "4096" })
        // Killed only once the head and the first bytes are with the kernel.
        res.write('{"access_token":"', () => process.stdout.write("answering\\n"))
      })
      server.listen(0, "127.0.0.1", () => process.stdout.write("port " + server.address().port + "\\n"))
    `
    const issuer = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] })
    try {
      let out = ""
      const port = await new Promise<number>((resolve, reject) => {
        issuer.stdout.setEncoding("utf8").on("data", (d: string) => {
          out += d
          const m = /port (\d+)/.exec(out)
          if (m) resolve(Number(m[1]))
          if (out.includes("answering")) issuer.kill("SIGKILL")
        })
        issuer.on("exit", () => reject(new Error("issuer exited early")))
      })
      const { env } = await expiredSession(`http://127.0.0.1:${port}/oauth/token`)
      const r = await measured(cliPath, ["token"], env)
      record("token, issuer killed mid-answer", r)
      expect(issuer.signalCode).toBe("SIGKILL")
      expectNetworkError(r, "the connection was closed by the other side in the middle of the answer", "try again")
    } finally {
      if (issuer.exitCode === null && issuer.signalCode === null && issuer.pid !== undefined) process.kill(issuer.pid, "SIGKILL")
    }
  })

  it("a dead proxy is named, without its credentials", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as net.AddressInfo).port
        probe.close(() => resolve(p))
      })
    })
    const { env } = await expiredSession("https://auth.example.invalid/oauth/token")
    const r = await measured(cliPath, ["token"], { ...env, HTTPS_PROXY: `http://proxyuser:proxysecret@127.0.0.1:${port}` })
    record("token, dead proxy", r)
    expectNetworkError(r, `the proxy http://***@127.0.0.1:${port}/ (from HTTPS_PROXY) cannot be reached: connect ECONNREFUSED`, "HTTPS_PROXY")
    expect(r.stderr).not.toContain("proxysecret")
    expect(r.stderr).not.toContain("proxyuser")
  })
})

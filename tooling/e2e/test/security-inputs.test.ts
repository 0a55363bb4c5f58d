/**
 * Hostile local inputs to the built CLI beyond auth.json's content: the CA bundle chosen by
 * CODEX_CA_CERTIFICATE / SSL_CERT_FILE, config.toml and `-c` overrides, and what CODEX_HOME and
 * auth.json are on disk (a file, a directory, a device, a FIFO). Each is a message naming the
 * variable or file with a hint and a documented exit code — never a stack trace, an internal
 * error, a hang, or an echo of key material.
 */
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import fc from "fast-check"
import { CodexHome } from "@codex-auth/storage"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, tempCodexHome } from "../src/Cli.ts"
import { type PrivateKeyring, readKeyringEntry, startPrivateKeyring } from "../src/reliability/keyring.ts"
import { hasStackTrace, runWatched } from "../src/reliability/secrets.ts"

const cli = (args: ReadonlyArray<string>, env: Record<string, string>, timeoutMs = 20_000) =>
  runWatched(process.execPath, [cliPath, ...args], { env, timeoutMs })

const home = () => {
  const h = tempCodexHome()
  fs.mkdirSync(h, { recursive: true, mode: 0o700 })
  return h
}

const KEY_BODY = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETKEYMATERIALxxxxxxxxxxxxxxxxxxxxxxxx"

describe("hostile CA bundles (CODEX_CA_CERTIFICATE, SSL_CERT_FILE)", () => {
  const cases: ReadonlyArray<readonly [string, (dir: string) => string]> = [
    ["an empty file", (d) => write(d, "empty.pem", "")],
    ["random bytes", (d) => write(d, "random.pem", Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256)))],
    ["only a private key", (d) => write(d, "key.pem", `-----BEGIN PRIVATE KEY-----\n${KEY_BODY}\n-----END PRIVATE KEY-----\n`)],
    ["a certificate with a corrupt body", (d) => write(d, "corrupt.pem", "-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END CERTIFICATE-----\n")],
    ["an unterminated block", (d) => write(d, "open.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n")],
    ["a directory", (d) => {
      fs.mkdirSync(join(d, "dir.pem"))
      return join(d, "dir.pem")
    }],
    ["a missing file", (d) => join(d, "missing.pem")],
    ["5 MB of base64", (d) => write(d, "big.pem", `-----BEGIN CERTIFICATE-----\n${"QUFB".repeat(1_250_000)}\n-----END CERTIFICATE-----\n`)]
  ]

  it.each(cases)("%s: a network sign-in stops before connecting, exit 6, naming the variable and the file", async (_name, make) => {
    const h = home()
    const dir = dirname(h)
    const path = make(dir)
    for (const variable of ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"]) {
      const r = await cli(["login", "--device-auth", "--issuer", "https://127.0.0.1:9"], { CODEX_HOME: h, [variable]: path })
      expect(r.code, r.stderr).toBe(6)
      expect(r.stderr).toContain(variable)
      expect(r.stderr).toContain(path)
      expect(r.stderr).toMatch(/^hint: .+/m)
      expect(hasStackTrace(r.stderr)).toBe(false)
      expect(r.stderr).not.toContain("SECRETKEYMATERIAL")
    }
  })
})

const write = (dir: string, name: string, content: string | Buffer) => {
  fs.writeFileSync(join(dir, name), content)
  return join(dir, name)
}

describe("hostile configuration (config.toml, -c)", () => {
  it("random config.toml (property, 20 runs): exit 0/1 or 8 naming the file; never an internal error", async () => {
    const h = home()
    const text = fc.oneof(
      fc.string({ unit: "binary", maxLength: 120 }),
      fc.array(fc.constantFrom("forced_login_method", "cli_auth_credentials_store", "=", "\"", "[", "]", "\n", "'", "{", "}", "1", "true", "\"api\"", "\"file\"", "[[x]]", "#"), { maxLength: 30 }).map((xs) => xs.join(" ")),
      fc.constant(`a = ${"[".repeat(100_000)}`)
    )
    await fc.assert(
      fc.asyncProperty(text, async (toml) => {
        fs.writeFileSync(join(h, "config.toml"), toml)
        const r = await cli(["login", "status"], { CODEX_HOME: h })
        expect([0, 1, 8], r.stderr).toContain(r.code)
        if (r.code === 8) expect(r.stderr).toContain(join(h, "config.toml"))
        expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
      }),
      { numRuns: 20 }
    )
  })

  it("hostile -c arguments: exit 0/1, 2 or 8; never an internal error", async () => {
    const h = home()
    for (const arg of ["", "=", "forced_login_method", "forced_login_method=", "forced_login_method=[", `x=${"[".repeat(50_000)}`, "cli_auth_credentials_store=\"nope\"", "a.b.c.d.e=1", "\u001b[31m=1"]) {
      const r = await cli(["-c", arg, "login", "status"], { CODEX_HOME: h })
      expect([0, 1, 2, 8], `${JSON.stringify(arg.slice(0, 40))}: ${r.stderr}`).toContain(r.code)
      expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
    }
  })
})

describe("hostile keyring entries (another program wrote Codex's entry)", () => {
  let keyring: PrivateKeyring | undefined
  beforeAll(async () => {
    keyring = await startPrivateKeyring()
  })
  afterAll(() => keyring?.stop())

  const SECRET = "rt-SECRETINKEYRING0123456789abcdef"
  const entries: ReadonlyArray<readonly [string, string]> = [
    ["not JSON", `garbage ${SECRET}`],
    ["wrong types holding a secret", JSON.stringify({ OPENAI_API_KEY: [SECRET], tokens: { id_token: 1, access_token: SECRET, refresh_token: { v: SECRET } } })],
    ["a JSON array", JSON.stringify([SECRET])],
    ["deep nesting", `{"tokens":${"[".repeat(50_000)}${"]".repeat(50_000)}}`],
    ["chunked, parts missing", `CODEX_CHUNKED:3:{"auth_mode":"apikey","OPENAI_API_KEY":"${SECRET}`],
    ["chunked, absurd count", `CODEX_CHUNKED:99999999999999999999:${SECRET}`],
    ["8 KiB, cut", `{"OPENAI_API_KEY":"${"k".repeat(1 << 20)}","tokens":7}`]
  ]

  it.each(entries)("%s: status and token exit 5 with a hint, echo nothing, and leave the entry as it was", async (_name, secret) => {
    const h = home()
    const address = keyring!.address
    const account = CodexHome.keyringAccount(h)
    const stored = spawnSync("secret-tool", ["store", "--label=hostile", "service", CodexHome.KEYRING_SERVICE, "username", account], {
      env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
      input: secret,
      timeout: 10_000
    })
    expect(stored.status).toBe(0)
    // (secret-tool stores at most 8 KiB from stdin: the larger cases arrive truncated, which is hostile too.)
    const before = readKeyringEntry(address, h)
    expect(before.length).toBeGreaterThan(0)
    for (const args of [["login", "status"], ["token"]]) {
      const r = await cli(["--store", "keyring", ...args], { CODEX_HOME: h, DBUS_SESSION_BUS_ADDRESS: address }, 30_000)
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(5)
      expect(r.stderr).toMatch(/^error: .+/m)
      expect(r.stderr).not.toContain(SECRET)
      expect(hasStackTrace(r.stderr)).toBe(false)
    }
    expect(readKeyringEntry(address, h)).toBe(before)
  })
})

describe("what CODEX_HOME and auth.json are on disk", () => {
  it("CODEX_HOME is a file, or under one: exit 5 with the path", async () => {
    const base = dirname(tempCodexHome())
    fs.mkdirSync(base, { recursive: true })
    const file = write(base, "a-file", "x")
    for (const h of [file, join(file, "sub")]) {
      const r = await cli(["login", "status"], { CODEX_HOME: h })
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toContain(h)
      expect(hasStackTrace(r.stderr)).toBe(false)
    }
  })

  it("auth.json is a directory or a device: exit 5, nothing overwritten", async () => {
    const h1 = home()
    fs.mkdirSync(join(h1, "auth.json"))
    const h2 = home()
    fs.symlinkSync("/dev/zero", join(h2, "auth.json"))
    for (const h of [h1, h2]) {
      for (const args of [["login", "status"], ["token"]]) {
        const r = await cli(args, { CODEX_HOME: h }, 10_000)
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(5)
        expect(r.stderr).toContain(join(h, "auth.json"))
        expect(hasStackTrace(r.stderr)).toBe(false)
      }
    }
    expect(fs.statSync(join(h1, "auth.json")).isDirectory()).toBe(true)
    expect(fs.lstatSync(join(h2, "auth.json")).isSymbolicLink()).toBe(true)
  })

  // A blocking open of a FIFO waits for a writer forever on the main thread (even SIGTERM could not
  // stop it); FileStore opens with O_NONBLOCK, then refuses anything but a regular file.
  it("auth.json as a FIFO is an error within seconds, not a hang", async () => {
    const h = home()
    execFileSync("mkfifo", [join(h, "auth.json")])
    const r = await cli(["login", "status"], { CODEX_HOME: h }, 4_000)
    expect(r.signal, "the CLI hung on the FIFO and had to be killed").toBeNull()
    expect(r.code).toBe(5)
  })
})

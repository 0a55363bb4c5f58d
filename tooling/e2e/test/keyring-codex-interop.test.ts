/**
 * Keyring interop with the real Codex CLI (@openai/codex 0.169, `-c cli_auth_credentials_store="keyring"`)
 * on a real gnome-keyring: what `codex login --with-api-key` stores, the built codex-auth reads;
 * what codex-auth stores (API key or ChatGPT tokens, from a real device-code sign-in too),
 * `codex login status` reports; a refresh rotates the token set in the keyring; logout by either
 * clears it for both. Plus the built CLI on a hung Secret Service (exits promptly, says
 * why) and with no D-Bus session at all (keyring fails clearly, auto falls back to auth.json).
 *
 * Hermetic: the test starts its own D-Bus session bus and an unlocked throwaway gnome-keyring, and
 * hands their address to both CLIs, so it runs the same inside or outside scripts/keyring-session.sh.
 */
import { AuthDotJson, ExitCode } from "@codex-auth/core"
import { CodexHome, KeyringStore } from "@codex-auth/storage"
import { Effect, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startMockIssuer } from "@codex-auth/mock-server"
import { runCli, runCodex, tempCodexHome } from "../src/Cli.ts"
import { startPrivateKeyring } from "../src/reliability/keyring.ts"
import { startCli, userCodeOf } from "./login-process.ts"

const cleanups: Array<() => void> = []
afterAll(() => {
  for (const c of cleanups) c()
})

/** A private session bus (no service activation) and an unlocked throwaway gnome-keyring on it. */
const startKeyring = async (): Promise<string> => {
  const keyring = await startPrivateKeyring()
  cleanups.push(keyring.stop)
  return keyring.address
}

/** A unix socket that accepts D-Bus connections and never answers. */
const unresponsiveBus = async (): Promise<string> => {
  const dir = fs.mkdtempSync(join(tmpdir(), "codex-auth-e2e-hang-"))
  const sockets: Array<net.Socket> = []
  const server = net.createServer((s) => {
    sockets.push(s)
    s.on("error", () => {})
  })
  await new Promise<void>((r) => server.listen(join(dir, "bus"), r))
  cleanups.push(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return `unix:path=${join(dir, "bus")}`
}

let bus = ""
beforeAll(async () => {
  bus = await startKeyring()
})

const existingHome = () => {
  const home = tempCodexHome()
  fs.mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}
const env = (home: string, extra: Record<string, string | undefined> = {}) => ({ CODEX_HOME: home, DBUS_SESSION_BUS_ADDRESS: bus, ...extra })
const KEYRING = ["-c", "cli_auth_credentials_store=\"keyring\""]
const lookup = (home: string) =>
  spawnSync("secret-tool", ["lookup", "service", "Codex Auth", "username", CodexHome.keyringAccount(home)], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus },
    encoding: "utf8"
  }).stdout
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.sig`

describe("keyring interop with the real Codex CLI", () => {
  it("codex-auth reads what `codex login --with-api-key` stored in the keyring (and no auth.json exists)", async () => {
    const home = existingHome()
    const byCodex = await runCodex([...KEYRING, "login", "--with-api-key"], { env: env(home), input: "sk-test-codex-keyring-12345\n" })
    expect(byCodex.code, byCodex.stderr).toBe(0)
    expect(fs.existsSync(join(home, "auth.json"))).toBe(false)
    expect(lookup(home)).toBe("{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-test-codex-keyring-12345\"}")

    const status = await runCli(["--store", "keyring", "login", "status", "--json"], { env: env(home) })
    expect(status.code, status.stderr).toBe(0)
    const json = JSON.parse(status.stdout)
    expect(json.mode).toBe("apikey")
    expect(json.api_key.masked).toBe("sk-test-***12345")
    expect(json.store).toEqual({
      mode: "keyring",
      backend: "keyring",
      location: `keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`,
      fallback_reason: null
    })
    const token = await runCli(["--store", "keyring", "token"], { env: env(home) })
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout.trim()).toBe("sk-test-codex-keyring-12345")
  })

  it("`codex login status` reports an API key codex-auth stored in the keyring; the secret is Codex's compact JSON", async () => {
    const home = existingHome()
    fs.writeFileSync(join(home, "auth.json"), "{\"auth_mode\":\"apikey\",\"OPENAI_API_KEY\":\"sk-old-file\"}", { mode: 0o600 })
    const ours = await runCli(["--store", "keyring", "login", "--with-api-key"], { env: env(home), input: "sk-test-fromcodexauth-99999\n" })
    expect(ours.code, ours.stderr).toBe(0)
    expect(ours.stdout + ours.stderr).toContain(`keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`)
    expect(fs.existsSync(join(home, "auth.json")), "a keyring save removes the plaintext file").toBe(false)
    expect(lookup(home)).toBe(AuthDotJson.toCompactText(AuthDotJson.fromApiKey(Redacted.make("sk-test-fromcodexauth-99999"))))

    const codex = await runCodex([...KEYRING, "login", "status"], { env: env(home) })
    expect(codex.code, codex.stderr).toBe(0)
    expect(codex.stdout + codex.stderr).toContain("API key configured - sk-test-***99999")
  })

  it("`codex login status` reads a ChatGPT token set codex-auth's keyring store wrote (a long secret, one item)", async () => {
    const home = existingHome()
    const exp = Math.floor(Date.now() / 1000) + 3600
    const auth = { chatgpt_plan_type: "pro", chatgpt_account_id: "ws-keyring", chatgpt_user_id: "user-k" }
    const doc = AuthDotJson.fromChatGptTokens({
      idToken: Redacted.make(jwt({ email: "keyring@example.com", exp, "https://api.openai.com/auth": auth, pad: "x".repeat(900) })),
      accessToken: Redacted.make(jwt({ exp, "https://api.openai.com/auth": auth, pad: "y".repeat(900) })),
      refreshToken: Redacted.make("rt-keyring-interop"),
      provenance: { issuer: "https://auth.openai.com", clientId: "app_EMoamEEZ73f0CkXaXp7hrann" },
      now: new Date()
    })
    expect(AuthDotJson.toCompactText(doc).length).toBeGreaterThan(2000)
    await Effect.runPromise(Effect.gen(function*() {
      const store = yield* KeyringStore.makeKeyringStore({ codexHome: home, env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: bus } })
      yield* store.save(doc)
    }))
    const codex = await runCodex([...KEYRING, "login", "status"], { env: env(home) })
    expect(codex.code, codex.stderr).toBe(0)
    expect(codex.stdout + codex.stderr).toContain("Logged in using ChatGPT")

    const ours = await runCli(["--store", "keyring", "login", "status", "--json"], { env: env(home) })
    expect(ours.code, ours.stderr).toBe(0)
    expect(JSON.parse(ours.stdout).account).toMatchObject({ email: "keyring@example.com", account_id: "ws-keyring" })
  })

  it("a device-code sign-in with --store keyring: tokens in the keyring only, Codex reads them, a refresh rotates them there, logout revokes and clears", async () => {
    // Access tokens live 4 minutes: inside the 5-minute refresh window, so `token` refreshes.
    const mock = await startMockIssuer({ config: { device: { intervalSeconds: 1 }, tokens: { accessTokenTtlSeconds: 240 } } })
    try {
      const home = existingHome()
      const login = startCli(["--store", "keyring", "login", "--device-auth", "--issuer", mock.url], env(home))
      await mock.control.approveDevice(await userCodeOf(login))
      const done = await login.exit
      expect(done.code, done.stderr).toBe(0)
      expect(done.stderr).toContain(`stored in keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`)
      expect(fs.existsSync(join(home, "auth.json")), "no plaintext copy").toBe(false)
      const stored = JSON.parse(lookup(home)) as { auth_mode: string; tokens: { refresh_token: string; oauth_provenance: unknown } }
      expect(stored.auth_mode).toBe("chatgpt")
      expect(stored.tokens.oauth_provenance).toEqual({ issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })

      const codex = await runCodex([...KEYRING, "login", "status"], { env: env(home) })
      expect(codex.code, codex.stderr).toBe(0)
      expect(codex.stdout + codex.stderr).toContain("Logged in using ChatGPT")

      const token = await runCli(["--store", "keyring", "token"], { env: env(home) })
      expect(token.code, token.stderr).toBe(0)
      const refreshes = (await mock.requests()).filter((r) => r.kind === "refresh_token")
      expect(refreshes).toHaveLength(1)
      const after = JSON.parse(lookup(home)) as { tokens: { refresh_token: string; access_token: string } }
      expect(after.tokens.refresh_token, "the rotated refresh token was saved in the keyring").not.toBe(stored.tokens.refresh_token)
      expect(token.stdout.trim()).toBe(after.tokens.access_token)
      expect(fs.existsSync(join(home, "auth.json"))).toBe(false)

      const logout = await runCli(["--store", "keyring", "logout"], { env: env(home) })
      expect(logout.code, logout.stderr).toBe(0)
      expect((await mock.requests()).filter((r) => r.kind === "revoke")).toHaveLength(1)
      expect(lookup(home)).toBe("")
    } finally {
      await mock.close()
    }
  })

  it("logout by either CLI clears the keyring entry for both", async () => {
    const home = existingHome()
    await runCodex([...KEYRING, "login", "--with-api-key"], { env: env(home), input: "sk-test-logout-keyring-11111\n" })
    const out = await runCli(["--store", "keyring", "logout", "--local-only"], { env: env(home) })
    expect(out.code, out.stderr).toBe(0)
    expect(out.stderr).toContain(`keyring: Codex Auth / ${CodexHome.keyringAccount(home)}`)
    expect(lookup(home)).toBe("")
    const codexAfter = await runCodex([...KEYRING, "login", "status"], { env: env(home) })
    expect(codexAfter.code).toBe(1)
    expect(codexAfter.stdout + codexAfter.stderr).toContain("Not logged in")

    await runCli(["--store", "keyring", "login", "--with-api-key"], { env: env(home), input: "sk-test-logout-keyring-22222\n" })
    const codexLogout = await runCodex([...KEYRING, "logout"], { env: env(home) })
    expect(codexLogout.code, codexLogout.stderr).toBe(0)
    const oursAfter = await runCli(["--store", "keyring", "login", "status"], { env: env(home) })
    expect(oursAfter.code).toBe(ExitCode.ExitCode.NotLoggedIn)
  })

  it("auto mode: codex-auth saves to the keyring, and Codex in auto mode reads it", async () => {
    const home = existingHome()
    const ours = await runCli(["--store", "auto", "login", "--with-api-key"], { env: env(home), input: "sk-test-auto-interop-33333\n" })
    expect(ours.code, ours.stderr).toBe(0)
    expect(ours.stderr).not.toContain("warning:")
    expect(fs.existsSync(join(home, "auth.json"))).toBe(false)
    const codex = await runCodex(["-c", "cli_auth_credentials_store=\"auto\"", "login", "status"], { env: env(home) })
    expect(codex.stdout + codex.stderr).toContain("API key configured - sk-test-***33333")
    const status = JSON.parse((await runCli(["--store", "auto", "login", "status", "--json"], { env: env(home) })).stdout)
    expect(status.store).toMatchObject({ mode: "auto", backend: "keyring", fallback_reason: null })
  })
})

describe("the built CLI when the keyring is not usable", () => {
  it("a hung Secret Service: keyring mode fails after the 3 s default timeout, says why, and the process exits", async () => {
    const hung = await unresponsiveBus()
    const home = existingHome()
    const t0 = Date.now()
    const r = await runCli(["--store", "keyring", "login", "status"], { env: { CODEX_HOME: home, DBUS_SESSION_BUS_ADDRESS: hung }, timeoutMs: 20_000 })
    const elapsed = Date.now() - t0
    expect(r.signal, "the CLI hung and was killed").toBeNull()
    expect(r.code).toBe(ExitCode.ExitCode.Storage)
    expect(r.stderr).toContain("(timeout)")
    expect(r.stderr).toContain("did not answer within 3 s")
    expect(r.stderr).toContain("hint:")
    expect(elapsed).toBeGreaterThanOrEqual(2_900)
    expect(elapsed).toBeLessThan(8_000)
  })

  it("a hung Secret Service: auto mode falls back to auth.json with a warning and fallback_reason timeout", async () => {
    const hung = await unresponsiveBus()
    const home = existingHome()
    const extra = { CODEX_HOME: home, DBUS_SESSION_BUS_ADDRESS: hung, CODEX_AUTH_KEYRING_TIMEOUT_MS: "700" }
    const login = await runCli(["--store", "auto", "login", "--with-api-key"], { env: extra, input: "sk-test-hung-auto-44444\n", timeoutMs: 20_000 })
    expect(login.signal).toBeNull()
    expect(login.code, login.stderr).toBe(0)
    expect(login.stderr).toMatch(/warning: the keyring is unavailable \[timeout\]: the Secret Service did not answer within 0\.7 s.*; using .*auth\.json instead/)
    expect(fs.existsSync(join(home, "auth.json"))).toBe(true)
    const t0 = Date.now()
    const status = await runCli(["--store", "auto", "login", "status", "--json"], { env: extra, timeoutMs: 20_000 })
    expect(status.signal).toBeNull()
    expect(Date.now() - t0).toBeLessThan(5_000)
    expect(status.code, status.stderr).toBe(0)
    const json = JSON.parse(status.stdout)
    expect(json.store.mode).toBe("auto")
    expect(json.store.backend).toBe("file")
    expect(json.store.location).toBe(join(home, "auth.json"))
    expect(json.store.fallback_reason).toMatch(/^timeout: the Secret Service did not answer within 0\.7 s/)
  })

  it("no D-Bus session: keyring mode fails at once with the reason and the next step; auto uses auth.json and says why", async () => {
    const home = existingHome()
    const noBus = { CODEX_HOME: home, DBUS_SESSION_BUS_ADDRESS: undefined, XDG_RUNTIME_DIR: undefined }
    const keyring = await runCli(["--store", "keyring", "login", "--with-api-key"], { env: noBus, input: "sk-test-nobus-55555\n" })
    expect(keyring.code).toBe(ExitCode.ExitCode.Storage)
    expect(keyring.stderr).toContain("(no_dbus_session)")
    expect(keyring.stderr).toContain("--store file")
    expect(keyring.stderr).toContain("dbus-run-session")
    expect(keyring.stderr).not.toContain("sk-test-nobus")
    expect(fs.existsSync(join(home, "auth.json"))).toBe(false)

    const auto = await runCli(["--store", "auto", "login", "--with-api-key"], { env: noBus, input: "sk-test-nobus-55555\n" })
    expect(auto.code, auto.stderr).toBe(0)
    expect(auto.stderr).toContain(`warning: the keyring is unavailable [no_dbus_session]: no D-Bus session bus`)
    expect(auto.stderr).toContain(`using ${join(home, "auth.json")} instead`)
    const status = JSON.parse((await runCli(["--store", "auto", "login", "status", "--json"], { env: noBus })).stdout)
    expect(status.store.backend).toBe("file")
    expect(status.store.fallback_reason).toMatch(/^no_dbus_session: /)
    // Codex, in file mode, reads what the fallback wrote.
    const codex = await runCodex(["login", "status"], { env: { CODEX_HOME: home } })
    expect(codex.stdout + codex.stderr).toContain("API key configured - sk-test-***55555")
  })
})

/**
 * Secret hygiene of the sign-in flows and the token lifecycle on the built CLI, against the mock
 * issuer: browser sign-in (`--no-browser`, the loopback callback on 1455/1457 — the fixed-ports
 * lock is held), paste-back (`--paste`), device code (`--device-auth`), refresh (`token` on an
 * expired access token) and logout with revocation. For each, the secrets that were in play —
 * the authorization code, ID/access/refresh tokens, the API key — are searched (raw and encoded)
 * in the CLI's stdout (except what `token` exists to print) and stderr, in the argv of its whole
 * process tree sampled while it ran, and in every request the mock recorded (the recorder keeps
 * fingerprints, never values).
 */
import * as fs from "node:fs"
import { join } from "node:path"
import { startMockIssuer, type RunningMockIssuer } from "@codex-auth/mock-server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cliPath, tempCodexHome, workerPath } from "../src/Cli.ts"
import { withFixedPortsLock } from "../src/ports.ts"
import { findSecrets, hasStackTrace, runWatched, type WatchedResult } from "../src/reliability/secrets.ts"

let mock: RunningMockIssuer
beforeAll(async () => {
  mock = await startMockIssuer({ autoApprove: true, config: { device: { intervalSeconds: 1 } } })
})
afterAll(() => mock?.close())

const stored = (codexHome: string): Array<string> => {
  const doc = JSON.parse(fs.readFileSync(join(codexHome, "auth.json"), "utf8"))
  return [doc.tokens?.id_token, doc.tokens?.access_token, doc.tokens?.refresh_token, doc.OPENAI_API_KEY].filter((s): s is string => typeof s === "string" && s.length > 0)
}

const assertNoLeak = async (r: WatchedResult, secrets: ReadonlyArray<string>, stdoutMayHold?: string) => {
  expect(secrets.length).toBeGreaterThan(0)
  expect(findSecrets(r.stderr, secrets), `stderr: ${r.stderr}`).toEqual([])
  expect(findSecrets(r.stdout, secrets.filter((s) => s !== stdoutMayHold)), `stdout: ${r.stdout}`).toEqual([])
  expect(findSecrets(r.argvs.join("\n"), secrets), "argv").toEqual([])
  expect(findSecrets(r.childEnvirons.join("\n"), secrets), "environment of a child process").toEqual([])
  expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
  expect(findSecrets(JSON.stringify(await mock.requests()), secrets), "the mock's recorded requests").toEqual([])
}

const authorizeUrlIn = (text: string): string | undefined => /(http:\/\/127\.0\.0\.1:\d+\/oauth\/authorize\?\S+)/.exec(text)?.[1]

/** Signs in with the browser flow and returns the home and the authorization code that was used. */
const browserLogin = async (extra: ReadonlyArray<string> = []) => {
  const codexHome = tempCodexHome()
  let code: string | undefined
  let driving = false
  const r = await runWatched(process.execPath, [cliPath, "login", "--no-browser", "--issuer", mock.url, ...extra], {
    env: { CODEX_HOME: codexHome },
    timeoutMs: 60_000,
    onOutput: (printed) => {
      const url = authorizeUrlIn(printed)
      if (url === undefined || driving) return
      driving = true
      void (async () => {
        const toCallback = await fetch(url, { redirect: "manual" })
        const location = toCallback.headers.get("location")!
        code = new URL(location).searchParams.get("code")!
        await (await fetch(location)).text()
      })()
    }
  })
  return { codexHome, r, code: code! }
}

describe("secret hygiene of the flows (built CLI, mock issuer)", () => {
  it("browser sign-in (--no-browser): code, tokens and API key appear nowhere", () =>
    withFixedPortsLock(async () => {
      const { codexHome, r, code } = await browserLogin()
      expect(r.code, r.stderr).toBe(0)
      expect(code).toBeDefined()
      await assertNoLeak(r, [code, ...stored(codexHome)])
    }))

  it("paste-back (--paste): the pasted redirect's code is not echoed", () =>
    withFixedPortsLock(async () => {
      const codexHome = tempCodexHome()
      let code: string | undefined
      let driving = false
      const r = await runWatched(process.execPath, [cliPath, "login", "--paste", "--issuer", mock.url], {
        env: { CODEX_HOME: codexHome },
        timeoutMs: 60_000,
        onOutput: (printed, io) => {
          const url = authorizeUrlIn(printed)
          if (url === undefined || driving) return
          driving = true
          void (async () => {
            // The user signs in elsewhere and pastes the final address (the callback is not visited).
            const location = (await fetch(url, { redirect: "manual" })).headers.get("location")!
            code = new URL(location).searchParams.get("code")!
            io.write(`${location}\n`)
          })()
        }
      })
      expect(r.code, r.stderr).toBe(0)
      await assertNoLeak(r, [code!, ...stored(codexHome)])
    }))

  it("device code (--device-auth): tokens appear nowhere (the user code is meant to be shown)", async () => {
    const codexHome = tempCodexHome()
    const r = await runWatched(process.execPath, [cliPath, "login", "--device-auth", "--issuer", mock.url], { env: { CODEX_HOME: codexHome }, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    await assertNoLeak(r, stored(codexHome))
  })

  it("the device-login worker (JSON lines for IDEs): tokens appear in none of its lines, argv or child environments", async () => {
    const codexHome = tempCodexHome()
    const r = await runWatched(process.execPath, [workerPath, "--codex-home", codexHome, "--issuer", mock.url], { env: {}, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim().split("\n").map((l) => JSON.parse(l).type).at(-1)).toBe("stored")
    await assertNoLeak(r, stored(codexHome))
  })

  it("with CODEX_AUTH_DEBUG=1 (stack traces on errors), a failing refresh prints no token", async () => {
    const codexHome = tempCodexHome()
    // A session the issuer does not know: the refresh is refused, the error (and its stack) printed.
    const t = await mock.control.mintTokens({ accessTokenTtlSeconds: -60 })
    await mock.control.revokeAccount("user@example.com")
    fs.mkdirSync(codexHome, { recursive: true, mode: 0o700 })
    fs.writeFileSync(join(codexHome, "auth.json"), JSON.stringify({
      auth_mode: "chatgpt",
      OPENAI_API_KEY: null,
      tokens: { id_token: t.id_token, access_token: t.access_token, refresh_token: t.refresh_token, account_id: t.account_id, oauth_provenance: { issuer: mock.url, client_id: "app_EMoamEEZ73f0CkXaXp7hrann" } },
      last_refresh: new Date(Date.now() - 9 * 86_400_000).toISOString()
    }, null, 2), { mode: 0o600 })
    const r = await runWatched(process.execPath, [cliPath, "token"], { env: { CODEX_HOME: codexHome, CODEX_AUTH_DEBUG: "1" }, timeoutMs: 60_000 })
    expect(r.code, r.stderr).toBe(3)
    const secrets = [t.id_token, t.access_token, t.refresh_token]
    expect(findSecrets(r.stdout + r.stderr, secrets), r.stderr).toEqual([])
    expect(findSecrets(r.argvs.join("\n") + r.childEnvirons.join("\n"), secrets)).toEqual([])
  })

  it("refresh (`token` on an expired access token): only the new access token, on stdout", () =>
    withFixedPortsLock(async () => {
      const { codexHome } = await browserLogin()
      const before = stored(codexHome)
      await mock.control.expireTokens({ access: true })
      // Make the stored access token look expired to the client as well.
      const doc = JSON.parse(fs.readFileSync(join(codexHome, "auth.json"), "utf8"))
      const parts = String(doc.tokens.access_token).split(".")
      const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString())
      doc.tokens.access_token = [parts[0], Buffer.from(JSON.stringify({ ...payload, exp: Math.floor(Date.now() / 1000) - 60 })).toString("base64url"), parts[2]].join(".")
      fs.writeFileSync(join(codexHome, "auth.json"), JSON.stringify(doc, null, 2), { mode: 0o600 })
      const r = await runWatched(process.execPath, [cliPath, "token"], { env: { CODEX_HOME: codexHome }, timeoutMs: 60_000 })
      expect(r.code, r.stderr).toBe(0)
      const after = stored(codexHome)
      const newAccess = JSON.parse(fs.readFileSync(join(codexHome, "auth.json"), "utf8")).tokens.access_token as string
      expect(r.stdout).toBe(`${newAccess}\n`)
      expect(after).not.toEqual(before)
      await assertNoLeak(r, [...before, doc.tokens.access_token, ...after], newAccess)
    }))

  it("logout with revocation: the revoked token is sent in the body only, and appears nowhere else", () =>
    withFixedPortsLock(async () => {
      const { codexHome } = await browserLogin()
      const secrets = stored(codexHome)
      const r = await runWatched(process.execPath, [cliPath, "logout"], { env: { CODEX_HOME: codexHome }, timeoutMs: 60_000 })
      expect(r.code, r.stderr).toBe(0)
      expect(fs.existsSync(join(codexHome, "auth.json"))).toBe(false)
      const revokes = (await mock.requests()).filter((q) => q.kind === "revoke")
      expect(revokes.length).toBeGreaterThan(0)
      for (const q of revokes) expect(Object.keys(q.query)).toEqual([])
      await assertNoLeak(r, secrets)
    }))
})

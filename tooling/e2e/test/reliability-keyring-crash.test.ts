/**
 * Crash consistency of the keyring entry: the built CLI in keyring mode (`--store keyring`) is
 * killed with SIGKILL at random points while it logs in with an API key or logs out, on a private
 * gnome-keyring. After every batch the entry (read with secret-tool, independently of codex-auth)
 * is absent or exactly the compact JSON of one of the keys that were written — never empty or
 * partial — no auth.json appears, and nothing the victims started (keyring helper, lock holder)
 * outlives them. Afterwards the next login works.
 */
import { AuthDotJson } from "@codex-auth/core"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanEnv, cliPath, runCli, tempCodexHome } from "../src/Cli.ts"
import { awaitNoSurvivors, calibrate, MARK_VARIABLE, newMark, runKillCampaign, spawnProcess } from "../src/reliability/crash.ts"
import { CANARY } from "../src/reliability/documents.ts"
import { type PrivateKeyring, readKeyringEntry, startPrivateKeyring } from "../src/reliability/keyring.ts"

let keyring: PrivateKeyring | undefined
beforeAll(async () => {
  keyring = await startPrivateKeyring()
})
afterAll(() => keyring?.stop())

const apiKeys = [0, 1, 2].map((i) => `sk-keyring-${CANARY}-${i}${"k".repeat(24)}`)
const compact = (key: string) => AuthDotJson.toCompactText(AuthDotJson.fromApiKey(Redacted.make(key)))

/**
 * A fresh CODEX_HOME on the private keyring and the victims for `--store <store>`: two runs in
 * three log in with one of `apiKeys`, the third logs out; every run carries a mark so survivors
 * can be found. `entryCheck` reads the keyring entry independently of codex-auth after each batch:
 * `absent`, `stateOf(index of the key it holds)`, or a problem when it is torn or unknown.
 */
const campaign = (store: "keyring" | "auto") => {
  const address = keyring!.address
  const codexHome = tempCodexHome()
  const mark = newMark()
  const env = cleanEnv({ CODEX_HOME: codexHome, DBUS_SESSION_BUS_ADDRESS: address, [MARK_VARIABLE]: mark })
  const victim = (i: number) =>
    i % 3 === 2
      ? spawnProcess(process.execPath, [cliPath, "--store", store, "logout", "--local-only"], env)
      : spawnProcess(process.execPath, [cliPath, "--store", store, "login", "--with-api-key"], env, `${apiKeys[i % apiKeys.length]}\n`)
  const entryCheck = (stateOf: (key: number) => string) => () => {
    const secret = readKeyringEntry(address, codexHome)
    if (secret === "") return { state: "absent", problems: [] }
    const key = apiKeys.findIndex((k) => compact(k) === secret)
    return key >= 0
      ? { state: stateOf(key), problems: [] }
      : { state: "foreign", problems: [`keyring entry is torn or unknown (${secret.length} bytes)`] }
  }
  return { address, codexHome, mark, victim, entryCheck }
}

describe("crash consistency of the keyring entry (kill -9)", () => {
  it("CLI --store keyring login/logout: 45 kills leave the entry absent or one whole document", async () => {
    const { address, codexHome, entryCheck, mark, victim } = campaign("keyring")
    const fullRun = await calibrate(() => victim(0))
    const report = await runKillCampaign({
      codexHome,
      kills: 45,
      parallel: 3,
      maxDelayMs: fullRun * 1.2,
      adaptive: true,
      concurrentReader: false,
      spawn: victim,
      extraCheck: entryCheck((key) => `key${key}`)
    })
    console.log(
      `[reliability] keyring: ${report.killed} kills (${report.finished} finished first), states ${JSON.stringify(report.states)}, ${report.elapsedMs} ms`
    )
    expect(report.problems).toEqual([])
    expect(report.killed).toBe(45)
    // Keyring mode never leaves a plaintext auth.json behind.
    expect(Object.keys(report.states).filter((k) => !k.startsWith("extra:"))).toEqual(["absent"])
    // The entry changed between batches (kills landed after saves and removals, not only before them).
    expect(Object.keys(report.states).filter((k) => k.startsWith("extra:")).length).toBeGreaterThanOrEqual(2)
    expect(await awaitNoSurvivors(mark)).toEqual([])

    const login = await runCli(["--store", "keyring", "login", "--with-api-key"], { env: { CODEX_HOME: codexHome, DBUS_SESSION_BUS_ADDRESS: address }, input: `${apiKeys[0]}\n` })
    expect(login.code, login.stderr).toBe(0)
    expect(readKeyringEntry(address, codexHome)).toBe(compact(apiKeys[0]!))
  }, 120_000)

  it("CLI --store auto login/logout: 30 kills leave the keyring entry and auth.json each absent or whole, and status reads a known document", async () => {
    const { address, codexHome, entryCheck, mark, victim } = campaign("auto")
    const fullRun = await calibrate(() => victim(0))
    const report = await runKillCampaign({
      codexHome,
      kills: 30,
      parallel: 3,
      maxDelayMs: fullRun * 1.2,
      adaptive: true,
      concurrentReader: false,
      apiKeys,
      spawn: victim,
      extraCheck: entryCheck(() => "known"),
      afterBatch: async () => {
        // Whatever the kills left, a reader gets one whole document or none.
        const status = await runCli(["--store", "auto", "login", "status", "--json"], { env: { CODEX_HOME: codexHome, DBUS_SESSION_BUS_ADDRESS: address } })
        if (status.code === 1) return []
        if (status.code !== 0) return [`status exited ${status.code}: ${status.stderr.trim()}`]
        const masked = JSON.parse(status.stdout).api_key?.masked as string | undefined
        return masked !== undefined && apiKeys.some((k) => masked.endsWith(k.slice(-5))) ? [] : [`status reported an unknown document: ${status.stdout.slice(0, 200)}`]
      }
    })
    console.log(`[reliability] keyring (auto): ${report.killed} kills (${report.finished} finished first), states ${JSON.stringify(report.states)}, ${report.elapsedMs} ms`)
    expect(report.problems).toEqual([])
    expect(report.killed).toBe(30)
    expect(await awaitNoSurvivors(mark)).toEqual([])
  }, 120_000)
})

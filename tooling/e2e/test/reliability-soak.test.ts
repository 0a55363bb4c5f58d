/**
 * Concurrency soak, CI-sized: worker processes and built-CLI loops log in, refresh, read status
 * and log out on one CODEX_HOME against the mock issuer with strict refresh-token reuse detection
 * for a bounded time. Nothing may fail: no torn read, no refresh refused by the issuer (a lost
 * rotated refresh token would be `refresh_token_reused`), a consistent final state. The figures are
 * printed (docs/reliability.md records a longer run: `node tooling/bench/soak.mjs`).
 *
 * Teeth: the same soak with workers that refresh without the lock must be caught by the issuer.
 */
import { describe, expect, it } from "vitest"
import { formatSoak, runSoak } from "../src/reliability/soak.ts"

describe("concurrency soak (one CODEX_HOME, strict issuer)", () => {
  it("8 workers + 2 CLI loops for 10 s: no failure, no refused refresh, consistent final state", async () => {
    const report = await runSoak({ durationMs: 10_000, workers: 8, cliSlots: 2 })
    console.log(`[reliability]\n${formatSoak(report)}`)
    expect(report.failures).toEqual({})
    expect(report.issuer.refreshRefused).toBe(0)
    expect(report.operations["refresh"] ?? 0).toBeGreaterThan(50)
    expect(report.operations["login"] ?? 0).toBeGreaterThan(5)
    expect(report.operations["logout"] ?? 0).toBeGreaterThan(5)
    expect(report.operations["cli:status"] ?? 0).toBeGreaterThan(3)
    expect((report.operations["cli:login-device"] ?? 0) + (report.operations["cli:logout"] ?? 0)).toBeGreaterThan(0)
    // The CLI's `token` took part (it refreshes tokens inside the refresh margin — or, as often under
    // this contention, adopts the ones another process refreshed while it waited for the lock).
    expect(report.operations["cli:token"] ?? 0).toBeGreaterThan(0)
    expect(report.lockWaitMs.samples).toBeGreaterThan(100)
    expect(report.finalState).not.toContain("refuses")
  }, 90_000)

  it("teeth: workers that refresh without the lock lose rotated refresh tokens, and the soak reports it", async () => {
    const report = await runSoak({ durationMs: 3_000, workers: 6, cliSlots: 0, kind: "nolock" })
    console.log(`[reliability] (no lock)\n${formatSoak(report)}`)
    expect(report.issuer.refreshRefused).toBeGreaterThan(0)
    expect(Object.keys(report.failures).some((k) => k.startsWith("refresh:refresh_token_"))).toBe(true)
  }, 60_000)
})

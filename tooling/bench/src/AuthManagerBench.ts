/**
 * AuthManager benchmarks (figures for docs/auth-manager.md; nothing is asserted):
 *
 * - Hot path: `accessToken` calls per second on a valid cached token, over the real file store
 *   (so the periodic change check is a real `stat`), inside one Effect program and as one
 *   `Effect.runSync` per call.
 * - Refresh storm: N processes of the built CLI run `codex-auth token` at the same moment on an
 *   expired token against the mock issuer (strict reuse detection); wall time from the first spawn
 *   to the last exit, as a ratio to one process refreshing alone, plus the same N processes on a
 *   valid token (no refresh) to separate process start-up cost from lock hand-over.
 *
 * @since 0.1.0
 */
import { spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { AuthManager, AuthPolicy, CredentialStore, RefreshTransport } from "@codex-auth/core"
import { type RunningMockIssuer, startMockIssuer } from "@codex-auth/mock-server"
import * as FileStore from "@codex-auth/storage/FileStore"
import { Context, Effect, Layer } from "effect"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
export const cliPath = join(repoRoot, "apps/cli/dist/codex-auth.mjs")

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url")
const jwt = (claims: Record<string, unknown>) => `${b64({ alg: "none", typ: "JWT" })}.${b64(claims)}.c2ln`

const tempHome = (): string => {
  const home = join(mkdtempSync(join(tmpdir(), "codex-auth-bench-")), "home")
  mkdirSync(home, { recursive: true, mode: 0o700 })
  return home
}

const writeAuth = (home: string, t: { id_token: string; access_token: string; refresh_token: string; account_id: string }, lastRefresh: Date) =>
  writeFileSync(join(home, "auth.json"), JSON.stringify({
    auth_mode: "chatgpt",
    OPENAI_API_KEY: null,
    tokens: { id_token: t.id_token, access_token: t.access_token, refresh_token: t.refresh_token, account_id: t.account_id },
    last_refresh: lastRefresh.toISOString()
  }, null, 2), { mode: 0o600 })

export interface HotPathFigures {
  readonly callsPerSecondInEffect: number
  readonly callsPerSecondRunSync: number
  /** `cachedAccessToken()` (synchronous, no Effect) calls per second. */
  readonly callsPerSecondCachedSync: number
  readonly headersPerSecondInEffect: number
  /** `stat` calls on auth.json made by the change check during the in-Effect run. */
  readonly changeChecks: number
  readonly seconds: number
}

/** `accessToken` throughput on a valid token held in the file store. */
export const hotPath = (options: { readonly calls?: number } = {}): Promise<HotPathFigures> => {
  const calls = options.calls ?? 5_000_000
  const home = tempHome()
  const exp = Math.floor(Date.now() / 1000) + 3600
  const claims = { exp, email: "bench@example.com", "https://api.openai.com/auth": { chatgpt_account_id: "ws-bench" } }
  writeAuth(home, { id_token: jwt(claims), access_token: jwt(claims), refresh_token: "rt-bench", account_id: "ws-bench" }, new Date())

  let fingerprints = 0
  const countingStore = Layer.effect(
    CredentialStore.CredentialStore,
    Effect.map(FileStore.makeFileStore({ codexHome: home }), (s) =>
      CredentialStore.CredentialStore.of({
        ...s,
        fingerprint: Effect.suspend(() => {
          fingerprints++
          return s.fingerprint
        })
      }))
  )
  const noNetwork = Layer.succeed(RefreshTransport.RefreshTransport, RefreshTransport.RefreshTransport.of({
    refresh: () => Effect.die("the hot-path benchmark must not refresh"),
    revoke: () => Effect.die("unused")
  }))
  const layer = AuthManager.AuthManager.layerWith({ enforcePolicy: false, useEnvironment: false }).pipe(
    Layer.provide(Layer.mergeAll(countingStore, noNetwork, AuthPolicy.AuthPolicy.layerAllowAll))
  )

  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const m = Context.get(yield* Layer.build(layer), AuthManager.AuthManager)
    for (let i = 0; i < 100_000; i++) yield* m.accessToken
    fingerprints = 0
    let t = performance.now()
    for (let i = 0; i < calls; i++) yield* m.accessToken
    const inEffect = performance.now() - t
    const changeChecks = fingerprints
    t = performance.now()
    for (let i = 0; i < calls; i++) yield* m.authorizationHeaders
    const headers = performance.now() - t
    const syncCalls = Math.floor(calls / 10)
    t = performance.now()
    for (let i = 0; i < syncCalls; i++) Effect.runSync(m.accessToken)
    const runSync = performance.now() - t
    t = performance.now()
    let hits = 0
    for (let i = 0; i < calls; i++) if (m.cachedAccessToken() !== undefined) hits++
    const cachedSync = performance.now() - t
    if (hits === 0) throw new Error("cachedAccessToken never hit")
    return {
      callsPerSecondInEffect: calls / (inEffect / 1000),
      callsPerSecondRunSync: syncCalls / (runSync / 1000),
      callsPerSecondCachedSync: calls / (cachedSync / 1000),
      headersPerSecondInEffect: calls / (headers / 1000),
      changeChecks,
      seconds: inEffect / 1000
    }
  })))
}

export interface StormRun {
  readonly processes: number
  readonly refreshNeeded: boolean
  readonly wallMs: number
  readonly refreshRequests: number
  readonly distinctTokens: number
  readonly failures: number
  /** From the start of the first process to the refresh POST reaching the issuer (ms); undefined without one. */
  readonly postMs: number | undefined
}

const runAll = (n: number, env: Record<string, string>): Promise<Array<{ code: number | null; stdout: string }>> =>
  Promise.all(Array.from({ length: n }, () =>
    new Promise<{ code: number | null; stdout: string }>((resolvePromise) => {
      const child = spawn(process.execPath, [cliPath, "token"], { env, stdio: ["ignore", "pipe", "ignore"] })
      let stdout = ""
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
      child.on("close", (code) => resolvePromise({ code, stdout }))
    })))

/** One storm: `n` processes started together on an expired (or, as a baseline, valid) token. */
export const storm = async (mock: RunningMockIssuer, n: number, refreshNeeded: boolean): Promise<StormRun> => {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} does not exist: build it first (pnpm turbo run build)`)
  await mock.control.reset()
  const tokens = await mock.control.mintTokens({ accessTokenTtlSeconds: refreshNeeded ? -120 : 3600 })
  const home = tempHome()
  writeAuth(home, tokens, new Date(Date.now() - (refreshNeeded ? 3600_000 : 0)))
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "",
    CODEX_HOME: home,
    CODEX_REFRESH_TOKEN_URL_OVERRIDE: `${mock.url}/oauth/token`,
    CODEX_MANAGED_CONFIG_PATH: join(home, "no-managed-config.toml"),
    CODEX_REQUIREMENTS_PATH: join(home, "no-requirements.toml")
  }
  if (process.env["NODE_COMPILE_CACHE"] !== undefined) env["NODE_COMPILE_CACHE"] = process.env["NODE_COMPILE_CACHE"]
  const startedAt = Date.now()
  const t = performance.now()
  const results = await runAll(n, env)
  const wallMs = performance.now() - t
  const refreshes = (await mock.requests()).filter((r) => r.kind === "refresh_token")
  const refreshRequests = refreshes.length
  rmSync(dirname(home), { recursive: true, force: true })
  return {
    postMs: refreshes[0] === undefined ? undefined : Date.parse(refreshes[0].at) - startedAt,
    processes: n,
    refreshNeeded,
    wallMs,
    refreshRequests,
    distinctTokens: new Set(results.map((r) => r.stdout)).size,
    failures: results.filter((r) => r.code !== 0).length
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

export interface StormFigures {
  readonly rows: ReadonlyArray<{
    readonly processes: number
    readonly refreshMs: number
    readonly baselineMs: number
    /** Median of each run's expired / valid wall-time ratio (runs interleaved). */
    readonly ratio: number
    readonly postMs: number
    readonly refreshRequests: number
    readonly failures: number
    readonly distinctTokens: number
  }>
}

/** Median wall time of `runs` storms for each size, with and without a refresh. */
/** Uncontended acquire + release of a lock file (the in-process native lock), µs per pair. */
export const lockPair = async (pairs: number): Promise<{ readonly microsPerPair: number; readonly firstLoadMs: number }> => {
  const LockFile = await import("@codex-auth/storage/LockFile")
  const dir = mkdtempSync(join(tmpdir(), "codex-auth-bench-lock-"))
  try {
    const path = join(dir, "auth.lock")
    let t = performance.now()
    LockFile.tryAcquire(path, { mode: 0o600 })!.release()
    const firstLoadMs = performance.now() - t
    t = performance.now()
    for (let i = 0; i < pairs; i++) LockFile.tryAcquire(path, { mode: 0o600 })!.release()
    return { microsPerPair: ((performance.now() - t) * 1000) / pairs, firstLoadMs }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export const storms = async (sizes: ReadonlyArray<number>, runs: number): Promise<StormFigures> => {
  const mock = await startMockIssuer({ config: { tokens: { reuseGraceMs: 0 } } })
  try {
    await storm(mock, 2, true) // warm the page cache and the compile cache
    const rows = []
    for (const n of sizes) {
      const withRefresh: Array<StormRun> = []
      const baseline: Array<StormRun> = []
      for (let i = 0; i < runs; i++) {
        withRefresh.push(await storm(mock, n, true))
        baseline.push(await storm(mock, n, false))
      }
      rows.push({
        processes: n,
        refreshMs: median(withRefresh.map((r) => r.wallMs)),
        baselineMs: median(baseline.map((r) => r.wallMs)),
        ratio: median(withRefresh.map((r, i) => r.wallMs / baseline[i]!.wallMs)),
        postMs: median(withRefresh.map((r) => r.postMs ?? Number.NaN)),
        refreshRequests: Math.max(...withRefresh.map((r) => r.refreshRequests)),
        failures: withRefresh.reduce((a, r) => a + r.failures, 0),
        distinctTokens: Math.max(...withRefresh.map((r) => r.distinctTokens))
      })
    }
    return { rows }
  } finally {
    await mock.close()
  }
}

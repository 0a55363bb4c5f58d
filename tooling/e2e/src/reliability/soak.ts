/**
 * The concurrency soak: for a bounded time, many processes log in, refresh, read status and log
 * out on ONE CODEX_HOME against the mock issuer with strict refresh-token reuse detection (grace
 * 0), so a single lost rotated refresh token shows up as `refresh_token_reused`:
 *
 * - `workers` soak-worker processes (the real FileStore + a refresh exactly as the AuthManager does
 *   it: under the lock, load → POST /oauth/token → save);
 * - `cliSlots` loops running the built CLI back to back (`login status --json`, `token`,
 *   `login --with-api-key`, `login --device-auth` against the mock, `logout --local-only`,
 *   `logout` with revocation): whatever the CLI does (its own refresh — the stored tokens name the
 *   mock as their issuer and expire within the refresh margin —, revoking superseded or logged-out
 *   tokens) happens in the same contention.
 *
 * Afterwards: every worker report is merged, the issuer's own record is checked (no refresh ever
 * answered 401), and the final auth.json must be absent, an API-key document, or ChatGPT tokens
 * whose refresh token the issuer still accepts.
 */
import { spawn } from "node:child_process"
import { lstatSync, mkdirSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { AuthDotJson } from "@codex-auth/core"
import { startMockIssuer } from "@codex-auth/mock-server"
import { FileStore } from "@codex-auth/storage"
import { Effect, Option, Redacted } from "effect"
import { cleanEnv, cliPath, tempCodexHome } from "../Cli.ts"
import { bundleScript } from "./bundle.ts"
import { isTempName } from "./crash.ts"
import type { SoakGrant, SoakWorkerInput, SoakWorkerReport } from "./soak-worker.ts"

export const soakWorkerScript = new URL("./soak-worker.ts", import.meta.url).pathname

export interface SoakOptions {
  readonly durationMs: number
  readonly workers: number
  readonly cliSlots: number
  /** `nolock`: workers refresh without the lock (the teeth check). Default `safe`. */
  readonly kind?: "safe" | "nolock"
  readonly grantsPerWorker?: number
  /** Access-token lifetime the mock issues (s). Default 60: inside the 5-minute refresh margin. */
  readonly accessTokenTtlSeconds?: number
  readonly weights?: SoakWorkerInput["weights"]
  /** API keys the CLI slots log in with (they must match `inspectHome`'s known keys). */
  readonly apiKey?: string
}

export interface SoakReport {
  readonly durationMs: number
  readonly workers: number
  readonly cliSlots: number
  /** Completed operations by kind (worker ops, and `cli:<command>` runs). */
  readonly operations: Readonly<Record<string, number>>
  readonly totalOperations: number
  /** Failures by kind; empty when everything held. */
  readonly failures: Readonly<Record<string, number>>
  readonly lockWaitMs: { readonly samples: number; readonly p50: number; readonly p99: number; readonly max: number }
  /** What the issuer saw: refresh requests, and how many it refused. */
  readonly issuer: {
    readonly refreshRequests: number
    /** Of those, sent by the built CLI's own refresh (`token`): the rest came from the workers. */
    readonly refreshRequestsByCli: number
    readonly refreshRefused: number
    readonly revocations: number
  }
  readonly finalState: string
}

const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

const add = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v
}

const runChild = (program: string, args: ReadonlyArray<string>, env: Record<string, string>, input: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(program, [...args], { env, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.on("error", () => {})
    child.stdin.end(input)
  })

interface CliCommand {
  readonly name: string
  readonly args: ReadonlyArray<string>
  /** Exit codes that are a correct answer. */
  readonly ok: ReadonlyArray<number>
  readonly stdin?: boolean
}

/**
 * What each CLI loop runs, in this order from its own starting point, round and round: every
 * command comes up every 12 runs, and `token` often follows a sign-in (fresh tokens inside the
 * refresh margin, so it refreshes).
 */
const cliSchedule = (issuer: string): ReadonlyArray<CliCommand> => {
  const status: CliCommand = { name: "status", args: ["login", "status", "--json"], ok: [0, 1] }
  const token: CliCommand = { name: "token", args: ["token"], ok: [0, 1] }
  const loginApiKey: CliCommand = { name: "login-apikey", args: ["login", "--with-api-key"], ok: [0], stdin: true }
  // A real device-code sign-in against the mock (auto-approved): new grant, superseded tokens revoked.
  const loginDevice: CliCommand = { name: "login-device", args: ["login", "--device-auth", "--issuer", issuer], ok: [0] }
  const logoutLocal: CliCommand = { name: "logout-local", args: ["logout", "--local-only"], ok: [0] }
  // Logout with revocation at the issuer the tokens came from.
  const logout: CliCommand = { name: "logout", args: ["logout"], ok: [0] }
  return [status, token, loginDevice, token, status, logout, loginApiKey, token, status, logoutLocal, token, status]
}

export const runSoak = async (options: SoakOptions): Promise<SoakReport> => {
  const kind = options.kind ?? "safe"
  const grantsPerWorker = options.grantsPerWorker ?? Math.max(40, Math.ceil(options.durationMs / 100))
  const apiKey = options.apiKey ?? "sk-soak-0123456789abcdefghijklmnop"
  const issuer = await startMockIssuer({
    autoApprove: true,
    config: {
      tokens: { reuseGraceMs: 0, accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 60 },
      device: { intervalSeconds: 0 },
      allowAnyLoopbackPort: true
    }
  })
  try {
    const clientId = (await issuer.control.config()).clientId
    const mint = async (): Promise<SoakGrant> => {
      const t = await issuer.control.mintTokens({})
      return { id_token: t.id_token, access_token: t.access_token, refresh_token: t.refresh_token }
    }
    const codexHome = tempCodexHome()
    mkdirSync(codexHome, { recursive: true, mode: 0o700 })
    const seed = await mint()
    const store = await Effect.runPromise(FileStore.makeFileStore({ codexHome }))
    const docFor = (g: SoakGrant) =>
      AuthDotJson.fromChatGptTokens({
        idToken: Redacted.make(g.id_token),
        accessToken: Redacted.make(g.access_token),
        refreshToken: Redacted.make(g.refresh_token),
        provenance: { issuer: issuer.url, clientId },
        now: new Date()
      })
    await Effect.runPromise(store.save(docFor(seed)))

    const script = await bundleScript(soakWorkerScript)
    const weights = options.weights ?? { refresh: 6, status: 3, login: 2, logout: 1 }
    const started = Date.now()
    const workerRuns = await Promise.all(Array.from({ length: options.workers }, async () => {
      const grants: Array<SoakGrant> = []
      for (let i = 0; i < grantsPerWorker; i++) grants.push(await mint())
      return { grants }
    })).then((inputs) =>
      inputs.map(({ grants }) =>
        runChild(process.execPath, [script], { ...process.env } as Record<string, string>, JSON.stringify({
          codexHome,
          issuer: issuer.url,
          clientId,
          durationMs: options.durationMs,
          kind,
          weights,
          grants
        } satisfies SoakWorkerInput))
      )
    )

    const operations: Record<string, number> = {}
    const failures: Record<string, number> = {}
    const env = cleanEnv({ CODEX_HOME: codexHome })
    const deadline = started + options.durationMs
    const schedule = cliSchedule(issuer.url)
    const slots = Array.from({ length: options.cliSlots }, async (_, slot) => {
      // Spread the loops over the schedule: the first one signs in on its third run.
      let next = Math.floor((slot * schedule.length) / Math.max(1, options.cliSlots))
      while (Date.now() < deadline) {
        const c = schedule[next++ % schedule.length]!
        const r = await runChild(process.execPath, [cliPath, ...c.args], env, c.stdin === true ? `${apiKey}\n` : "")
        if (c.ok.includes(r.code ?? -1)) operations[`cli:${c.name}`] = (operations[`cli:${c.name}`] ?? 0) + 1
        else {
          const key = `cli:${c.name}:exit_${r.code}`
          failures[key] = (failures[key] ?? 0) + 1
          if ((failures[key] ?? 0) <= 2) console.error(`[soak] ${c.args.join(" ")} exited ${r.code}: ${r.stderr.trim().split("\n").slice(0, 2).join(" | ")}`)
        }
      }
    })
    const lockWaits: Array<number> = []
    for (const run of await Promise.all(workerRuns)) {
      if (run.code !== 0) {
        failures["worker:crashed"] = (failures["worker:crashed"] ?? 0) + 1
        console.error(`[soak] worker exited ${run.code}: ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`)
        continue
      }
      const report = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as SoakWorkerReport
      add(operations, report.operations)
      add(failures, report.failures)
      lockWaits.push(...report.lockWaits)
    }
    await Promise.all(slots)
    const durationMs = Date.now() - started

    const requests = await issuer.requests()
    const refreshes = requests.filter((r) => r.kind === "refresh_token")
    const refused = refreshes.filter((r) => r.status !== 200).length
    if (refused > 0) failures["issuer:refresh_refused"] = refused

    // The final state: consistent on disk, and if it holds ChatGPT tokens, the issuer still honours them.
    let finalState: string
    for (const name of readdirSync(codexHome)) {
      const mode = lstatSync(join(codexHome, name)).mode & 0o777
      if ((name === "auth.json" || isTempName(name)) && mode !== 0o600) failures[`final:${name}_mode_${mode.toString(8)}`] = 1
    }
    const final = await Effect.runPromise(Effect.result(store.load))
    if (final._tag === "Failure") failures["final:auth.json_unreadable"] = 1
    const doc = final._tag === "Success" ? final.success : Option.none()
    if (Option.isNone(doc)) finalState = "absent (last operation was a logout)"
    else if (doc.value.tokens === undefined) finalState = "API key (last operation was an API-key login)"
    else {
      const res = await fetch(`${issuer.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ client_id: clientId, grant_type: "refresh_token", refresh_token: Redacted.value(doc.value.tokens.refreshToken) })
      })
      finalState = res.status === 200 ? "ChatGPT tokens whose refresh token the issuer still accepts" : `ChatGPT tokens the issuer refuses (HTTP ${res.status})`
      if (res.status !== 200) failures["final:stored_refresh_token_dead"] = 1
    }
    return {
      durationMs,
      workers: options.workers,
      cliSlots: options.cliSlots,
      operations,
      totalOperations: Object.values(operations).reduce((a, b) => a + b, 0),
      failures,
      lockWaitMs: {
        samples: lockWaits.length,
        p50: Math.round(percentile(lockWaits, 50)),
        p99: Math.round(percentile(lockWaits, 99)),
        max: Math.round(Math.max(0, ...lockWaits))
      },
      issuer: {
        refreshRequests: refreshes.length,
        refreshRequestsByCli: refreshes.length - (operations["refresh"] ?? 0) - (operations["refresh-failed"] ?? 0),
        refreshRefused: refused,
        revocations: requests.filter((r) => r.kind === "revoke").length
      },
      finalState
    }
  } finally {
    await issuer.close()
  }
}

/** One line per figure, for logs and docs/reliability.md. */
export const formatSoak = (r: SoakReport): string =>
  [
    `soak: ${r.durationMs} ms, ${r.workers} worker processes + ${r.cliSlots} CLI loops on one CODEX_HOME`,
    `operations: ${r.totalOperations} ${JSON.stringify(r.operations)}`,
    `failures: ${Object.keys(r.failures).length === 0 ? "none" : JSON.stringify(r.failures)}`,
    `lock wait (ms): p50 ${r.lockWaitMs.p50}, p99 ${r.lockWaitMs.p99}, max ${r.lockWaitMs.max} over ${r.lockWaitMs.samples} locked operations`,
    `issuer: ${r.issuer.refreshRequests} refresh requests (${r.issuer.refreshRequestsByCli} by the CLI's own refresh), ${r.issuer.refreshRefused} refused; ${r.issuer.revocations} revocations`,
    `final state: ${r.finalState}`
  ].join("\n")

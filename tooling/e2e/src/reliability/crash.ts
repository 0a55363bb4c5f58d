/**
 * Crash-consistency and lost-update harnesses. They drive writer processes (the real FileStore in
 * `writer.ts`, or the built CLI) against one CODEX_HOME, `kill -9` them at random points, and
 * inspect what is left: auth.json must be absent or exactly one of the documents that were
 * written, mode 0600, in a 0700 directory, and the next writer must work. While writers run, the
 * harness also reads auth.json continuously (no torn reads).
 *
 * The same harnesses run against deliberately unsafe writers (`writer.ts` kinds `inplace` and
 * `nolock`) and must detect the damage there: that is what shows the tests have teeth.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { bundleScript } from "./bundle.ts"
import { type Recognised, recognise } from "./documents.ts"
import type { WriterOptions } from "./writer.ts"

export const writerScript = join(dirname(fileURLToPath(import.meta.url)), "writer.ts")

/** Temp files the FileStore writes before renaming them over auth.json. */
export const isTempName = (name: string): boolean => name.startsWith(".auth.json.tmp-")

export interface Inspection {
  readonly state: Recognised | { readonly kind: "absent" }
  /** Everything wrong: content, modes. Empty when the home is consistent. */
  readonly problems: ReadonlyArray<string>
  /** Stray temp files left beside auth.json. */
  readonly strays: ReadonlyArray<string>
}

const modeOf = (path: string): number => fs.lstatSync(path).mode & 0o777

/** Recognises auth.json text: known documents (see `documents.ts`) unless a campaign says otherwise. */
export type Recogniser = (text: string) => Recognised

/**
 * What is in a CODEX_HOME now, and what is wrong with it. `apiKeys`: API-key documents that count
 * as known; `recogniser` replaces the known-document check altogether.
 */
export const inspectHome = (codexHome: string, apiKeys: ReadonlyArray<string> = [], recogniser?: Recogniser): Inspection => {
  const problems: Array<string> = []
  const authPath = join(codexHome, "auth.json")
  let state: Inspection["state"] = { kind: "absent" }
  if (fs.existsSync(codexHome)) {
    const dirMode = modeOf(codexHome)
    if ((dirMode & 0o077) !== 0) problems.push(`CODEX_HOME has mode ${dirMode.toString(8)} (wider than 700)`)
  }
  let text: string | undefined
  try {
    text = fs.readFileSync(authPath, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") problems.push(`auth.json unreadable: ${(e as NodeJS.ErrnoException).code}`)
  }
  if (text !== undefined) {
    state = (recogniser ?? ((t: string) => recognise(t, apiKeys)))(text)
    if (state.kind === "foreign") problems.push(`auth.json is torn or unknown: ${state.why}`)
    const mode = modeOf(authPath)
    if (mode !== 0o600) problems.push(`auth.json has mode ${mode.toString(8)} (expected 600)`)
  }
  const strays = fs.existsSync(codexHome) ? fs.readdirSync(codexHome).filter(isTempName) : []
  for (const s of strays) {
    const mode = modeOf(join(codexHome, s))
    if ((mode & 0o077) !== 0) problems.push(`temp file ${s} has mode ${mode.toString(8)} (wider than 600)`)
  }
  return { state, problems, strays }
}

/** Reads auth.json once, as a concurrent reader would: `undefined` if fine, else what was wrong. */
const readOnce = (authPath: string, recogniser: Recogniser): string | undefined => {
  let text: string
  try {
    text = fs.readFileSync(authPath, "utf8")
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    return code === "ENOENT" ? undefined : `read failed: ${code}`
  }
  const r = recogniser(text)
  return r.kind === "foreign" ? `torn read: ${r.why}` : undefined
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface Spawned {
  readonly child: ChildProcess
  /** Resolves when the process may be killed (it said `ready`, or at once). */
  readonly armed: Promise<void>
  /** Lines printed on stdout so far. */
  readonly lines: Array<string>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }>
}

const track = (child: ChildProcess, waitForReady: boolean): Spawned => {
  const lines: Array<string> = []
  let buffer = ""
  let stderr = ""
  let onReady: () => void = () => {}
  const armed = waitForReady ? new Promise<void>((r) => (onReady = r)) : Promise.resolve()
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    buffer += d
    let i: number
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i)
      buffer = buffer.slice(i + 1)
      lines.push(line)
      if (line === "ready") onReady()
    }
  })
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => {
      onReady()
      resolve({ code, signal, stderr })
    })
  )
  return { child, armed, lines, exited }
}

/** The bundled writer (see `bundle.ts`); `writer.ts` itself also runs as is under Node 24, only slower. */
export const prepareWriter = (): Promise<string> => bundleScript(writerScript)

/** The variable that marks every process a campaign starts, so survivors can be found after it. */
export const MARK_VARIABLE = "CODEX_AUTH_RELIABILITY_MARK"

/** A fresh mark for one campaign. */
export const newMark = (): string => `mark-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`

/** Pids of live processes (other than zombies) whose environment carries `mark`: descendants of killed victims. */
export const survivors = (mark: string): Array<number> => {
  const needle = `${MARK_VARIABLE}=${mark}\0`
  const found: Array<number> = []
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8")
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue
      if (fs.readFileSync(`/proc/${name}/environ`, "latin1").includes(needle)) found.push(Number(name))
    } catch {
      // gone, or not ours
    }
  }
  return found
}

/** Waits up to `timeoutMs` for every process carrying `mark` to exit; returns those still alive. */
export const awaitNoSurvivors = async (mark: string, timeoutMs = 5_000): Promise<Array<number>> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const alive = survivors(mark)
    if (alive.length === 0 || Date.now() > deadline) return alive
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Starts a writer process (`script`: from `prepareWriter`, or `writerScript`); `mark` tags its environment. */
export const spawnWriter = (script: string, options: WriterOptions, mark?: string): Spawned =>
  track(
    spawn(process.execPath, [script, JSON.stringify(options)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: mark === undefined ? process.env : { ...process.env, [MARK_VARIABLE]: mark }
    }),
    true
  )

/** Starts any process (e.g. the built CLI), killable at once; `input` is written to its stdin. */
export const spawnProcess = (program: string, args: ReadonlyArray<string>, env: Record<string, string>, input?: string): Spawned => {
  const child = spawn(program, [...args], { stdio: ["pipe", "pipe", "pipe"], env })
  child.stdin?.on("error", () => {})
  child.stdin?.end(input ?? "")
  return track(child, false)
}

/**
 * The median time (ms) a victim takes to run to completion when nobody kills it, with
 * `concurrency` of them running at once (as in the campaign): campaigns kill uniformly within
 * about that long, so kills land before, during and after the write whatever the speed or the
 * load of the machine.
 */
export const calibrate = async (start: () => Spawned, runs = 3, concurrency = 1): Promise<number> => {
  const times: Array<number> = []
  for (let i = 0; i < runs; i++) {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      const t = performance.now()
      const v = start()
      const exit = await v.exited
      if (exit.code !== 0) throw new Error(`calibration run failed (exit ${exit.code}): ${exit.stderr}`)
      times.push(performance.now() - t)
    }))
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!
}

export interface KillCampaignOptions {
  readonly codexHome: string
  /** Starts one victim. */
  readonly spawn: (index: number) => Spawned
  /** Victims to kill in all (victims that finish first are replaced, up to 3× this many). */
  readonly kills: number
  /** Victims running (and killed) at once. */
  readonly parallel: number
  /** Each victim is killed after a uniform random delay in [0, maxDelayMs] once armed. */
  readonly maxDelayMs: number
  /**
   * Adapt the window to the machine's load as the campaign goes: shrink it by 15 % after a batch in
   * which a victim finished before its kill, widen it by 10 % otherwise — so kills keep landing up
   * to about the moment the victims complete (their writes), not all before or all after.
   */
  readonly adaptive?: boolean
  /** API-key documents that count as known. */
  readonly apiKeys?: ReadonlyArray<string>
  /** Replaces the known-document check (e.g. any well-formed ChatGPT document the issuer minted). */
  readonly recogniser?: Recogniser
  /** Runs after each batch's inspection (e.g. one unkilled run that must succeed); returns problems. */
  readonly afterBatch?: () => Promise<ReadonlyArray<string>>
  /** Another store to check after each batch (e.g. the keyring entry): its state, and what is wrong. */
  readonly extraCheck?: () => { readonly state: string; readonly problems: ReadonlyArray<string> }
  /** Read auth.json continuously while victims run (default true). */
  readonly concurrentReader?: boolean
  /** Stop at the first problem found (for the teeth checks). */
  readonly stopAtFirstProblem?: boolean
}

export interface KillCampaignReport {
  /** Victims killed by SIGKILL while running. */
  readonly killed: number
  /** Victims that finished before their kill came. */
  readonly finished: number
  /** Operations the victims reported done. */
  readonly operations: number
  /** Reads by the concurrent reader, and what was wrong with any of them. */
  readonly reads: number
  readonly badReads: ReadonlyArray<string>
  /** Problems found when inspecting the home after each batch. */
  readonly problems: ReadonlyArray<string>
  /** Final states seen after each batch. */
  readonly states: Readonly<Record<string, number>>
  /** Batches after which a stray temp file was present; the most seen at once. */
  readonly batchesWithStrays: number
  readonly maxStrays: number
  readonly elapsedMs: number
}

/** Runs victims in batches, kills each at a random point, inspects the home after every batch. */
export const runKillCampaign = async (options: KillCampaignOptions): Promise<KillCampaignReport> => {
  const started = Date.now()
  const apiKeys = options.apiKeys ?? []
  const recogniser: Recogniser = options.recogniser ?? ((t) => recognise(t, apiKeys))
  const authPath = join(options.codexHome, "auth.json")
  let killed = 0
  let finished = 0
  let operations = 0
  let reads = 0
  const badReads: Array<string> = []
  const problems: Array<string> = []
  const states: Record<string, number> = {}
  let batchesWithStrays = 0
  let maxStrays = 0
  let index = 0
  let maxDelayMs = options.maxDelayMs
  // Victims that finish before their kill do not count; give up after 3× as many victims as kills.
  while (killed < options.kills && index < options.kills * 3) {
    const batch = Math.min(options.parallel, options.kills - killed)
    const victims = Array.from({ length: batch }, () => options.spawn(index++))
    const finishedBefore = finished
    let running = options.concurrentReader !== false
    const reader = (async () => {
      while (running) {
        reads++
        const bad = readOnce(authPath, recogniser)
        if (bad !== undefined) badReads.push(bad)
        await sleep(1)
      }
    })()
    await Promise.all(victims.map(async (v) => {
      await v.armed
      await sleep(Math.random() * maxDelayMs)
      v.child.kill("SIGKILL")
      const exit = await v.exited
      if (exit.signal === "SIGKILL") killed++
      else if (exit.code === 0) finished++
      else {
        finished++
        problems.push(`a victim failed on its own (exit ${exit.code}): ${exit.stderr.trim().split("\n").slice(-3).join(" | ")}`)
      }
      operations += v.lines.filter((l) => l !== "ready" && l !== "done").length
    }))
    running = false
    await reader
    if (options.adaptive === true) maxDelayMs *= finished > finishedBefore ? 0.85 : 1.1
    const inspection = inspectHome(options.codexHome, apiKeys, recogniser)
    problems.push(...inspection.problems)
    states[inspection.state.kind] = (states[inspection.state.kind] ?? 0) + 1
    if (options.extraCheck !== undefined) {
      const extra = options.extraCheck()
      problems.push(...extra.problems)
      states[`extra:${extra.state}`] = (states[`extra:${extra.state}`] ?? 0) + 1
    }
    if (options.afterBatch !== undefined) problems.push(...(await options.afterBatch()))
    if (inspection.strays.length > 0) batchesWithStrays++
    maxStrays = Math.max(maxStrays, inspection.strays.length)
    if (options.stopAtFirstProblem === true && (problems.length > 0 || badReads.length > 0)) break
  }
  return {
    killed,
    finished,
    operations,
    reads,
    badReads,
    problems,
    states,
    batchesWithStrays,
    maxStrays,
    elapsedMs: Date.now() - started
  }
}

export interface RaceOptions {
  readonly writer: string
  readonly codexHome: string
  readonly kind: WriterOptions["kind"]
  readonly processes: number
  readonly refreshesEach: number
}

export interface RaceReport {
  /** Refreshes the writers reported done. */
  readonly refreshes: number
  /** The document number left in auth.json (started at 0: equals `refreshes` when nothing was lost). */
  readonly finalNumber: number | undefined
  /** Refresh tokens (document numbers) consumed more than once: a rotated token used twice. */
  readonly reused: ReadonlyArray<number>
  /** Refreshes whose result was overwritten by another writer's. */
  readonly lost: number
  readonly problems: ReadonlyArray<string>
}

/**
 * Lost-update race: `processes` writers each refresh `refreshesEach` times (read document k, write
 * k+1) on one CODEX_HOME starting from document 0. With the lock, every refresh consumes a distinct
 * k and the final document is the number of refreshes; without it, refreshes are lost and tokens
 * reused.
 */
export const runRefreshRace = async (options: RaceOptions): Promise<RaceReport> => {
  const seed = spawnWriter(options.writer, { codexHome: options.codexHome, kind: "safe", ops: ["refresh"], documents: 1, count: 1 })
  const seeded = await seed.exited
  if (seeded.code !== 0) throw new Error(`seeding writer failed: ${seeded.stderr}`)
  const writers = Array.from({ length: options.processes }, () =>
    spawnWriter(options.writer, { codexHome: options.codexHome, kind: options.kind, ops: ["refresh"], documents: 1, count: options.refreshesEach }))
  const problems: Array<string> = []
  const consumed: Array<number> = []
  for (const w of writers) {
    const exit = await w.exited
    if (exit.code !== 0) problems.push(`writer exit ${exit.code}: ${exit.stderr.trim().split("\n").slice(-3).join(" | ")}`)
    for (const line of w.lines) {
      const m = /^refresh (\d+) (\d+)$/.exec(line)
      if (m?.[1] !== undefined) consumed.push(Number(m[1]))
    }
  }
  const inspection = inspectHome(options.codexHome)
  problems.push(...inspection.problems)
  const seen = new Map<number, number>()
  for (const k of consumed) seen.set(k, (seen.get(k) ?? 0) + 1)
  const reused = [...seen].filter(([, n]) => n > 1).map(([k]) => k).sort((a, b) => a - b)
  const finalNumber = inspection.state.kind === "known" ? inspection.state.k : undefined
  return {
    refreshes: consumed.length,
    finalNumber,
    reused,
    lost: consumed.length - (finalNumber ?? 0),
    problems
  }
}

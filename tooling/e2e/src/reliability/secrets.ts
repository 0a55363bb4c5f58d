/**
 * Secret-hygiene helpers: run a program while sampling the argv of it and of every descendant
 * (`/proc/<pid>/cmdline`), and search any text for known secret values (raw, URL-encoded and
 * base64/base64url-encoded).
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { cleanEnv, repoRoot, type RunResult } from "../Cli.ts"

/** The pids of `root` and all its descendants, from /proc (Linux). */
export const processTree = (root: number): Array<number> => {
  const parent = new Map<number, number>()
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, "utf8")
      // pid (comm) state ppid …: comm may hold spaces and parentheses; ppid follows the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      parent.set(Number(name), ppid)
    } catch {
      // gone
    }
  }
  const tree = new Set<number>([root])
  let grew = true
  while (grew) {
    grew = false
    for (const [pid, ppid] of parent) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid)
        grew = true
      }
    }
  }
  return [...tree]
}

const readEnviron = (pid: number): string | undefined => {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").join("\n")
  } catch {
    return undefined
  }
}

const readCmdline = (pid: number): string | undefined => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
  } catch {
    return undefined
  }
}

export interface WatchedResult extends RunResult {
  /** Every distinct argv seen in the process tree while it ran. */
  readonly argvs: ReadonlyArray<string>
  /**
   * The environments of the program's descendants (lock holders, keyring helper, browser opener…)
   * seen while it ran; the program's own environment is what the test gave it, so it is not here.
   */
  readonly childEnvirons: ReadonlyArray<string>
  /** How many times the tree was sampled. */
  readonly samples: number
}

export interface WatchOptions {
  readonly env?: Record<string, string | undefined>
  readonly input?: string
  readonly timeoutMs?: number
  /** Sampling period (ms). Default 2. */
  readonly everyMs?: number
  /**
   * Called with everything printed so far (stdout + stderr) each time more arrives; `write` sends
   * text to the program's stdin, `end` closes it. With it, stdin stays open until `end` (or exit).
   */
  readonly onOutput?: (printed: string, io: { readonly write: (text: string) => void; readonly end: () => void }) => void
}

/** Runs `program args` with a clean environment, sampling the argv of its whole process tree until it exits. */
export const runWatched = (program: string, args: ReadonlyArray<string>, options: WatchOptions = {}): Promise<WatchedResult> =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(program, [...args], { env: cleanEnv(options.env), cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    const argvs = new Set<string>()
    const environs = new Set<string>()
    let samples = 0
    const sample = () => {
      if (child.pid === undefined) return
      samples++
      for (const pid of processTree(child.pid)) {
        const argv = readCmdline(pid)
        if (argv !== undefined && argv.length > 0) argvs.add(argv)
        if (pid !== child.pid) {
          const env = readEnviron(pid)
          if (env !== undefined && env.length > 0) environs.add(env)
        }
      }
    }
    sample()
    const sampler = setInterval(sample, options.everyMs ?? 2)
    let printed = ""
    const io = { write: (text: string) => void child.stdin.write(text), end: () => void child.stdin.end() }
    const onData = (which: "out" | "err") => (d: string) => {
      if (which === "out") stdout += d
      else stderr += d
      printed += d
      options.onOutput?.(printed, io)
    }
    child.stdout.setEncoding("utf8").on("data", onData("out"))
    child.stderr.setEncoding("utf8").on("data", onData("err"))
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearInterval(sampler)
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr, argvs: [...argvs], childEnvirons: [...environs], samples })
    })
    child.stdin.on("error", () => {})
    if (options.input !== undefined) child.stdin.write(options.input)
    if (options.onOutput === undefined) child.stdin.end()
  })

/** The forms a secret could leak in. */
const formsOf = (secret: string): ReadonlyArray<string> => [
  secret,
  encodeURIComponent(secret),
  Buffer.from(secret).toString("base64"),
  Buffer.from(secret).toString("base64url")
]

/** Which of `secrets` occur in `text`, in any of their forms (each reported once, by its first 6 characters). */
export const findSecrets = (text: string, secrets: ReadonlyArray<string>): Array<string> =>
  secrets.filter((s) => formsOf(s).some((f) => f.length > 0 && text.includes(f))).map((s) => `${s.slice(0, 6)}…`)

/** A stack trace line as Node prints it. */
export const hasStackTrace = (text: string): boolean => /^\s+at .+[(:]\d+/m.test(text)

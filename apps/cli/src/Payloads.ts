/**
 * Starts the programs embedded in the `codex-auth` bundle (see `tooling/build/bundle.mjs`): the
 * fast path and the full command tree are CommonJS bundles stored as comments after the entry, so
 * each run parses only the program it executes.
 *
 * A payload is read from this file by its byte range, compiled with `vm.Script`, and given a V8
 * code cache of its own in the user's cache directory (`$XDG_CACHE_HOME/codex-auth`, else
 * `~/.cache/codex-auth`; `~/Library/Caches/codex-auth` on macOS; `%LOCALAPPDATA%\codex-auth\Cache`
 * on Windows). The cache is written once, after the first run of a command, so it holds every
 * function that run compiled, not just the top level (Node's own compile cache only covers files
 * loaded after it is enabled, and never this entry file unless `NODE_COMPILE_CACHE` is set).
 *
 * The full command tree is stored brotli-compressed (see the build): V8 skims every byte of this
 * file on every start (about 1 ms per MB), and decompressing costs the full path about 4 ms.
 *
 * The cache only ever speeds things up: its name carries the payload's hash, the Node version and
 * the architecture; V8 rejects data made by another V8 or with other flags (it is then rewritten);
 * a file not owned by the current user, or writable by others, is ignored; every error is ignored.
 * `CODEX_AUTH_CODE_CACHE=0` turns it off.
 *
 * This module runs on every start: it must not `import` anything (the build refuses it), because
 * an ESM import of a builtin builds a facade that reads every export (`fs` then loads its streams).
 *
 * @since 0.1.0
 */
declare const __CODEX_AUTH_PAYLOADS__: string | undefined

interface Entry {
  /** Byte offset of the payload's comment in the bundle. */
  readonly offset: number
  /** Byte length of the comment (and its final newline). */
  readonly length: number
  /** Length of the payload (the source of a function expression). */
  readonly size: number
  /** First 16 hex digits of the payload's SHA-256. */
  readonly hash: string
  /**
   * `block`: the payload in block comments; `brotli-base64`: one `//` line of base64 of the
   * brotli-compressed payload (the full CLI, rarely on a hot path).
   */
  readonly encoding: "block" | "brotli-base64"
  /** `block` only: the lengths of the pieces when the payload was cut at each `*\/` (see the build). */
  readonly pieces?: ReadonlyArray<number>
}

const fs = process.getBuiltinModule("node:fs")
const path = process.getBuiltinModule("node:path")

/**
 * `CODEX_AUTH_TRACE_STARTUP=1`: milliseconds since the process started at each step, printed on
 * stderr when the process exits (see `trace`). For performance work; off by default.
 */
const tracing = process.env["CODEX_AUTH_TRACE_STARTUP"] === "1"
const marks: Array<readonly [string, number]> = []

/** Records that the step `label` ended now (only when tracing). */
export const mark = (label: string): void => {
  if (tracing) marks.push([label, process.uptime() * 1000])
}

if (tracing) {
  process.on("exit", () => {
    mark("exit")
    let previous = 0
    const steps = marks.map(([label, at]) => {
      const text = `${label} +${(at - previous).toFixed(1)}`
      previous = at
      return text
    })
    fs.writeSync(2, `codex-auth startup (ms since the process started: ${previous.toFixed(1)}): ${steps.join(", ")}\n`)
  })
}

export interface Started<A> {
  readonly exports: A
  /** Call when the program has finished: writes the code cache if there was none (or V8 refused it). */
  readonly finish: () => void
}

const damaged = (name: string) =>
  new Error(`the codex-auth bundle ${import.meta.filename} is damaged (payload ${name} does not match its table); reinstall codex-auth`)

const readPayload = (name: string, entry: Entry): string => {
  const buf = Buffer.allocUnsafe(entry.length)
  const fd = fs.openSync(import.meta.filename, "r")
  let read: number
  try {
    read = fs.readSync(fd, buf, 0, entry.length, entry.offset)
  } finally {
    fs.closeSync(fd)
  }
  const section = buf.toString("latin1", 0, read)
  if (read !== entry.length || !section.endsWith("\n")) throw damaged(name)
  let source: string
  switch (entry.encoding) {
    case "block": {
      // `/*piece*/` for each piece: a slice of the section when there is one (no copy).
      source = ""
      let at = 0
      for (const length of entry.pieces ?? [entry.size]) {
        if (section.slice(at, at + 2) !== "/*" || section.slice(at + 2 + length, at + 4 + length) !== "*/") throw damaged(name)
        source += section.slice(at + 2, at + 2 + length)
        at += length + 4
      }
      if (at !== section.length - 1) throw damaged(name)
      break
    }
    case "brotli-base64":
      if (!section.startsWith("//")) throw damaged(name)
      source = process.getBuiltinModule("node:zlib").brotliDecompressSync(Buffer.from(section.slice(2, -1), "base64")).toString("latin1")
      break
    default:
      throw damaged(name)
  }
  if (source.length !== entry.size) throw damaged(name)
  return source
}

const cacheDir = (): string | undefined => {
  const env = process.env
  if (env["CODEX_AUTH_CODE_CACHE"] === "0") return undefined
  const home = (): string => env["HOME"] || process.getBuiltinModule("node:os").homedir()
  if (process.platform === "win32") {
    const local = env["LOCALAPPDATA"]
    return path.join(local !== undefined && path.isAbsolute(local) ? local : path.join(home(), "AppData", "Local"), "codex-auth", "Cache")
  }
  if (process.platform === "darwin") return path.join(home(), "Library", "Caches", "codex-auth")
  const xdg = env["XDG_CACHE_HOME"]
  return path.join(xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(home(), ".cache"), "codex-auth")
}

const MAX_CACHE_BYTES = 64 * 1024 * 1024

const readCache = (file: string): Buffer | undefined => {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0))
    try {
      const st = fs.fstatSync(fd)
      if (!st.isFile() || st.size === 0 || st.size > MAX_CACHE_BYTES) return undefined
      if (typeof process.getuid === "function" && (st.uid !== process.getuid() || (st.mode & 0o022) !== 0)) return undefined
      const buf = Buffer.allocUnsafe(st.size)
      return fs.readSync(fd, buf, 0, st.size, 0) === st.size ? buf : undefined
    } finally {
      fs.closeSync(fd)
    }
  } catch {
    return undefined
  }
}

/** Caches kept per payload and command: this build's, and a few older ones (other installed versions). */
const KEEP = 4

/** Writes `data` to `file` atomically, then removes all but the newest `KEEP` files matching `same`. */
const writeCache = (dir: string, file: string, same: (name: string) => boolean, data: Buffer): void => {
  const tmp = `${file}.${process.pid}.tmp`
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: "wx" })
    fs.renameSync(tmp, file)
  } catch {
    try {
      fs.rmSync(tmp, { force: true })
    } catch {
      // nothing to clean up
    }
    return
  }
  // Every build of codex-auth has its own cache file: keep the newest few for this command.
  try {
    const old = fs.readdirSync(dir)
      .filter(same)
      .map((f) => ({ path: path.join(dir, f), mtime: fs.lstatSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)
      .slice(KEEP)
    for (const f of old) fs.rmSync(f.path, { force: true })
  } catch {
    // pruning is best-effort
  }
}

/**
 * Evaluates the embedded payload `name` (a CommonJS module) and returns its exports. `variant`
 * names the command about to run, so each command gets a code cache made by a run of itself.
 */
export const start = <A>(name: string, variant: string): Started<A> => {
  const table = JSON.parse(__CODEX_AUTH_PAYLOADS__ ?? "{}") as Record<string, Entry | undefined>
  const entry = table[name]
  if (entry === undefined) throw damaged(name)
  const source = readPayload(name, entry)
  mark(`read ${name}`)
  const dir = cacheDir()
  const file = dir === undefined
    ? undefined
    : path.join(dir, `${name}-${entry.hash}-${variant}-${process.version}-${process.arch}.v8cache`)
  const cachedData = file === undefined ? undefined : readCache(file)
  mark(cachedData === undefined ? "no code cache" : "read code cache")
  const vm = process.getBuiltinModule("node:vm")
  const filename = path.join(import.meta.dirname, `${path.basename(import.meta.filename).replace(/\.m?js$/, "")}.${name}.js`)
  // The payload is the source of `(function (exports, require, module, __filename, __dirname,
  // __codexAuthImportMetaUrl) { … })`, its CommonJS module scope.
  const script = new vm.Script(source, cachedData === undefined ? { filename } : { filename, cachedData })
  mark(script.cachedDataRejected === true ? "compile (code cache refused)" : "compile")
  const module = { exports: {} as A }
  const fn = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  const require = process.getBuiltinModule("node:module").createRequire(import.meta.filename)
  fn.call(module.exports, module.exports, require, module, filename, import.meta.dirname, import.meta.url)
  mark("evaluate")
  return {
    exports: module.exports,
    finish: () => {
      if (dir !== undefined && file !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
        // Caches of this payload and command from any build, for any Node version.
        const same = (f: string) => f.startsWith(`${name}-`) && f.includes(`-${variant}-`) && f.endsWith(".v8cache")
        writeCache(dir, file, same, script.createCachedData())
        mark("write code cache")
      }
    }
  }
}

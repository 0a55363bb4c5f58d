/**
 * TOML text → table, with errors that name the file and line, plus the helpers a config loader
 * needs around the parser: finding the line that defines a key (for "invalid value" errors, which
 * the parser cannot report because the text was syntactically fine) and parsing `-c key=value`
 * overrides exactly as the Codex CLI does (value parsed as a TOML value, else taken as a string).
 *
 * Parsing is done by smol-toml (a maintained TOML 1.0 parser); nothing here throws.
 *
 * @since 0.1.0
 */
import { Errors } from "@codex-auth/core"
import { Result } from "effect"
import { parse as parseToml, TomlError } from "smol-toml"

/** A parsed TOML table. Keys come straight from the document. */
export type TomlTable = Readonly<Record<string, unknown>>

const MAX_DETAIL = 200

const clip = (text: string): string => (text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text)

/** First line of a smol-toml message, without its code block excerpt. */
const firstLine = (message: string): string => clip((message.split("\n")[0] ?? message).trim())

/**
 * Parses a whole document. A syntax error becomes a `ConfigError` naming `file` and the line the
 * parser stopped at; any other parser failure (deep nesting, …) is reported without a line.
 */
export const parseDocument = (text: string, file: string): Result.Result<TomlTable, Errors.ConfigError> => {
  try {
    const table = parseToml(text, { unsafeKeyBehaviour: "drop", maxDepth: 64 })
    return Result.succeed(table as TomlTable)
  } catch (e) {
    if (e instanceof TomlError) {
      return Result.fail(
        new Errors.ConfigError({
          file,
          ...(Number.isInteger(e.line) && e.line > 0 ? { line: e.line } : {}),
          detail: `not valid TOML: ${firstLine(e.message)}`
        })
      )
    }
    const message = e instanceof Error ? e.message : String(e)
    return Result.fail(new Errors.ConfigError({ file, detail: `not valid TOML: ${firstLine(message)}` }))
  }
}

// ---------------------------------------------------------------------------------------------
// Key locator
// ---------------------------------------------------------------------------------------------

const isBare = (c: string): boolean => /[A-Za-z0-9_-]/.test(c)

interface KeyParse {
  readonly parts: ReadonlyArray<string>
  readonly end: number
}

/** Parses a dotted key (`a."b.c".'d'`) starting at `i`; stops before `=` / `]`. */
const parseKeyPath = (line: string, start: number): KeyParse | undefined => {
  const parts: Array<string> = []
  let i = start
  for (;;) {
    while (line[i] === " " || line[i] === "\t") i++
    const c = line[i]
    if (c === "\"") {
      let j = i + 1
      let out = ""
      while (j < line.length && line[j] !== "\"") {
        if (line[j] === "\\" && j + 1 < line.length) {
          const n = line[j + 1]
          out += n === "n" ? "\n" : n === "t" ? "\t" : n === "\"" ? "\"" : n === "\\" ? "\\" : `\\${n}`
          j += 2
        } else {
          out += line[j]
          j++
        }
      }
      if (j >= line.length) return undefined
      parts.push(out)
      i = j + 1
    } else if (c === "'") {
      const j = line.indexOf("'", i + 1)
      if (j < 0) return undefined
      parts.push(line.slice(i + 1, j))
      i = j + 1
    } else if (c !== undefined && isBare(c)) {
      let j = i
      while (j < line.length && isBare(line[j]!)) j++
      parts.push(line.slice(i, j))
      i = j
    } else {
      return undefined
    }
    while (line[i] === " " || line[i] === "\t") i++
    if (line[i] === ".") {
      i++
      continue
    }
    return { parts, end: i }
  }
}

type ScanState = "normal" | "mlBasic" | "mlLiteral"

/**
 * Scans the value part of a line from `i`, updating the multi-line string state and the
 * bracket depth of arrays / inline tables that continue on later lines.
 */
const scanValue = (line: string, from: number, state: ScanState, depth: number): [ScanState, number] => {
  let i = from
  let s = state
  let d = depth
  while (i < line.length) {
    if (s === "mlBasic") {
      if (line[i] === "\\") {
        i += 2
        continue
      }
      if (line.startsWith("\"\"\"", i)) {
        s = "normal"
        i += 3
        while (line[i] === "\"") i++
        continue
      }
      i++
      continue
    }
    if (s === "mlLiteral") {
      if (line.startsWith("'''", i)) {
        s = "normal"
        i += 3
        while (line[i] === "'") i++
        continue
      }
      i++
      continue
    }
    const c = line[i]
    if (c === "#") return [s, d]
    if (line.startsWith("\"\"\"", i)) {
      s = "mlBasic"
      i += 3
      continue
    }
    if (line.startsWith("'''", i)) {
      s = "mlLiteral"
      i += 3
      continue
    }
    if (c === "\"") {
      i++
      while (i < line.length && line[i] !== "\"") i += line[i] === "\\" ? 2 : 1
      i++
      continue
    }
    if (c === "'") {
      const j = line.indexOf("'", i + 1)
      i = j < 0 ? line.length : j + 1
      continue
    }
    if (c === "[" || c === "{") d++
    else if ((c === "]" || c === "}") && d > 0) d--
    i++
  }
  return [s, d]
}

const samePath = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i])

const startsWithPath = (a: ReadonlyArray<string>, prefix: ReadonlyArray<string>): boolean =>
  a.length >= prefix.length && prefix.every((p, i) => p === a[i])

/**
 * The 1-based line where the key at `path` is defined in a syntactically valid document: a
 * `key = …` line (bare, quoted or dotted keys, inside `[tables]` and `[[arrays]]` too), or the
 * table header that opens it. When the key is only reachable through a parent defined as an
 * inline table, the parent's line is returned. `undefined` when not found.
 */
export const findKeyLine = (text: string, path: ReadonlyArray<string>): number | undefined => {
  const lines = text.split(/\r?\n/)
  let table: ReadonlyArray<string> = []
  let state: ScanState = "normal"
  let depth = 0
  let parentLine: number | undefined
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!
    if (state !== "normal" || depth > 0) {
      ;[state, depth] = scanValue(line, 0, state, depth)
      continue
    }
    let i = 0
    while (line[i] === " " || line[i] === "\t") i++
    const c = line[i]
    if (c === undefined || c === "#") continue
    if (c === "[") {
      const isArray = line[i + 1] === "["
      const key = parseKeyPath(line, i + (isArray ? 2 : 1))
      if (key === undefined) continue
      table = key.parts
      if (samePath(table, path)) return n + 1
      continue
    }
    const key = parseKeyPath(line, i)
    if (key === undefined || line[key.end] !== "=") continue
    const full = [...table, ...key.parts]
    if (samePath(full, path)) return n + 1
    if (parentLine === undefined && full.length < path.length && startsWithPath(path, full)) parentLine = n + 1
    ;[state, depth] = scanValue(line, key.end + 1, "normal", 0)
  }
  return parentLine
}

// ---------------------------------------------------------------------------------------------
// -c overrides
// ---------------------------------------------------------------------------------------------

/** One `-c key=value` override, parsed. */
export interface Override {
  /** The dotted path, split on `.` (Codex does not support quoted segments here). */
  readonly path: ReadonlyArray<string>
  readonly value: unknown
  /** The raw argument, for messages. */
  readonly raw: string
}

/** The file name used in messages about `-c` overrides. */
export const OVERRIDE_FILE = "-c (command line)"

const parseTomlValue = (raw: string): Result.Result<unknown, undefined> => {
  try {
    const table = parseToml(`_x_ = ${raw}`, { unsafeKeyBehaviour: "drop", maxDepth: 64 }) as Record<string, unknown>
    return Object.hasOwn(table, "_x_") && Object.keys(table).length === 1 ? Result.succeed(table["_x_"]) : Result.fail(undefined)
  } catch {
    return Result.fail(undefined)
  }
}

/**
 * Parses a raw `-c` argument as Codex does: split on the first `=`, trim both halves, parse the
 * value as a TOML value and, if that fails, use the trimmed text as a string
 * (`-c forced_login_method=api` works without quotes).
 */
export const parseOverride = (raw: string): Result.Result<Override, Errors.ConfigError> => {
  const eq = raw.indexOf("=")
  if (eq < 0) {
    return Result.fail(
      new Errors.ConfigError({ file: OVERRIDE_FILE, detail: `expected key=value, got ${JSON.stringify(clip(raw))}` })
    )
  }
  const key = raw.slice(0, eq).trim()
  const valueText = raw.slice(eq + 1).trim()
  if (key.length === 0) {
    return Result.fail(
      new Errors.ConfigError({ file: OVERRIDE_FILE, detail: `empty key in ${JSON.stringify(clip(raw))}` })
    )
  }
  const parsed = parseTomlValue(valueText)
  return Result.succeed({
    path: key.split("."),
    value: Result.isSuccess(parsed) ? parsed.success : valueText,
    raw
  })
}

/**
 * The worker's command line: `--codex-home DIR`, `--store file|keyring|auto`, `--issuer URL`
 * (also `--experimental_issuer`), `--client-id ID`, `-c key=value` / `--config key=value`
 * (repeatable), `--help`, `--version`. Both `--flag value` and `--flag=value` work.
 *
 * @since 0.1.0
 */
import { Errors, SafeText } from "@codex-auth/core"
import type { Selection } from "@codex-auth/storage"
import { Result } from "effect"

export interface WorkerArgs {
  readonly codexHome: string | undefined
  readonly store: Selection.StoreFlag | undefined
  readonly issuer: string | undefined
  readonly clientId: string | undefined
  readonly config: ReadonlyArray<string>
  readonly help: boolean
  readonly version: boolean
}

export const USAGE = `Usage: codex-auth-device-login-worker [--codex-home DIR] [--store file|keyring|auto] [--issuer URL] [-c key=value]...

Runs a device-code sign-in with ChatGPT and reports on stdout as JSON lines
(code_issued, waiting, retrying, approved, stored, failed). Write "cancel" and a newline
to stdin to stop. Diagnostics go to stderr. Protocol: docs/device-login-worker.md.
`

const VALUE_FLAGS = new Map([
  ["--codex-home", "codexHome"],
  ["--store", "store"],
  ["--issuer", "issuer"],
  ["--experimental_issuer", "issuer"],
  ["--client-id", "clientId"],
  ["--experimental_client-id", "clientId"],
  ["-c", "config"],
  ["--config", "config"]
] as const)

const usage = (detail: string) => Result.fail(new Errors.UsageError({ detail, suggestion: "Run `codex-auth-device-login-worker --help` for usage." }))

export const parseArgs = (argv: ReadonlyArray<string>): Result.Result<WorkerArgs, Errors.UsageError> => {
  const values: Record<string, string | undefined> = {}
  const config: Array<string> = []
  let help = false
  let version = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--help" || arg === "-h") {
      help = true
      continue
    }
    if (arg === "--version" || arg === "-v") {
      version = true
      continue
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
    const name = eq > 0 ? arg.slice(0, eq) : arg
    const key = VALUE_FLAGS.get(name as never)
    // Never echoed when it looks like a key or token (`SafeText.argument`).
    if (key === undefined) return usage(`unknown argument ${SafeText.argument(arg)}`)
    let value: string | undefined
    if (eq > 0) value = arg.slice(eq + 1)
    else {
      value = argv[i + 1]
      i++
    }
    if (value === undefined) return usage(`${name} needs a value`)
    if (key === "config") config.push(value)
    else values[key] = value
  }
  const store = values["store"]
  if (store !== undefined && store !== "file" && store !== "keyring" && store !== "auto") {
    return usage(`--store must be file, keyring or auto (got ${SafeText.argument(store)})`)
  }
  if (values["codexHome"] === "") return usage("--codex-home must not be empty")
  return Result.succeed({
    codexHome: values["codexHome"],
    store,
    issuer: values["issuer"],
    clientId: values["clientId"],
    config,
    help,
    version
  })
}

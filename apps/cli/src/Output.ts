/**
 * Writing to the terminal, and turning failures into a message, a hint and an exit code.
 * Everything for people goes to stderr except what a command exists to print (status, token).
 *
 * Every message and hint rendered here goes through core's `SafeText`: control and bidi
 * characters from outside (issuer texts, claims, paths, arguments) are escaped, and an argument
 * that looks like a key or a token is never echoed (`SafeText.hideSecretArguments`). Usage errors
 * (an unknown command or flag, a bad value) are `error:` lines and one `hint:` on stderr, exit 2;
 * the help is printed only for `--help` (and for `codex-auth` alone), on stdout.
 *
 * @since 0.1.0
 */
import { Errors, ExitCode, SafeText } from "@codex-auth/core"
import { Cause, Data, Effect, type Layer, Logger, LogLevel } from "effect"

/** Prints on stderr, adding a final newline. (stdout: `programs/Stdout.ts`, one writer for all commands.) */
export const stderr = (text: string) => Effect.sync(() => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`))

/**
 * The CLI's logger: what the packages log at Warning or above (for example the AuthManager's
 * "the stored credentials changed while a refresh was in flight") is printed on stderr as
 * `warning: …` / `error: …`, never on stdout, where `token` and `status --json` print their
 * answer. Debug and Info messages are dropped.
 */
export const loggerLayer: Layer.Layer<never> = Logger.layer([
  Logger.make(({ logLevel, message }) => {
    if (!LogLevel.isGreaterThanOrEqualTo(logLevel, "Warn")) return
    const text = forTerminal((Array.isArray(message) ? message : [message]).map(String).join(" "))
    process.stderr.write(`${LogLevel.isGreaterThanOrEqualTo(logLevel, "Error") ? "error" : "warning"}: ${text}\n`)
  })
])

/** Ends the run with `code` after the command already printed all it had to say. */
export class SilentExit extends Data.TaggedError("SilentExit")<{ readonly code: number }> {}

/**
 * Text on its way to stderr: secret-shaped arguments of this run hidden, control and bidi
 * characters escaped. Messages and hints hold no intentional newline.
 */
export const forTerminal = (text: string): string => SafeText.escape(SafeText.hideSecretArguments(text, process.argv.slice(2)))

/**
 * effect/cli's parse errors, recognised by their type id so this module (on the fast path)
 * doesn't load effect/cli. The fields are those of `effect/cli/CliError`'s classes.
 */
interface CliErrorLike {
  readonly _tag: string
  readonly message: string
  readonly errors?: ReadonlyArray<CliErrorLike>
  readonly commandPath?: ReadonlyArray<string>
  readonly option?: string
  readonly value?: string
  readonly expected?: string
  readonly kind?: string
  readonly argument?: string
  readonly subcommand?: string
  readonly parent?: ReadonlyArray<string>
  readonly command?: ReadonlyArray<string>
  readonly arguments?: ReadonlyArray<string>
  readonly suggestions?: ReadonlyArray<string>
}
const isCliError = (u: unknown): u is CliErrorLike =>
  typeof u === "object" && u !== null && "~effect/cli/CliError" in u

/** A flag as typed (`--frob`) when it is a plain flag name, else quoted or hidden (`SafeText.argument`). */
const flagShown = (flag: string): string =>
  /^-{1,2}[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/.test(flag) && !SafeText.looksLikeSecret(flag) ? flag : SafeText.argument(flag)

const expectation = (expected: string | undefined): string =>
  expected === undefined || expected.length === 0 ? "" : `; expected ${expected.replace(/^Expected:?\s*/, "")}`

const API_KEY_ON_STDIN = "Pipe the key in on stdin: `printenv OPENAI_API_KEY | codex-auth login --with-api-key`."
const TYPED_SECRET = "A key or token typed on a command line stays in your shell history and is visible to other users in `ps`: consider rotating it."

/** Whether an argument named by a parse error looks like a key or token (and so was not shown). */
const hidesSecret = (e: CliErrorLike): boolean =>
  [e.value, e.subcommand, e.option, ...(e.arguments ?? [])].some((a) => a !== undefined && SafeText.looksLikeSecret(a))

/** One parse error as a message that never echoes a secret-shaped argument. */
const usageMessage = (e: CliErrorLike, path: ReadonlyArray<string>): string => {
  const where = `\`${path.join(" ")}\``
  switch (e._tag) {
    case "UnknownSubcommand":
      return `unknown command ${SafeText.argument(e.subcommand ?? "")} for \`${(e.parent ?? path).join(" ")}\``
    case "UnrecognizedOption":
      return `unknown flag ${flagShown(e.option ?? "")} for \`${(e.command ?? path).join(" ")}\``
    case "UnexpectedArgument": {
      const args = e.arguments ?? []
      return `unexpected argument${args.length === 1 ? "" : "s"} ${args.map(SafeText.argument).join(", ")} for ${where}`
    }
    case "InvalidValue": {
      const value = e.value ?? ""
      if (e.kind === "argument") return `invalid value ${SafeText.argument(value)} for <${e.option}>${expectation(e.expected)}`
      if (e.option === "with-api-key" && value.length > 0) {
        return "--with-api-key takes no value: the API key is read from stdin (the value given was neither used nor shown)"
      }
      if (value.length === 0) return `--${e.option} needs a value${expectation(e.expected)}`
      if ((e.expected ?? "").includes("\"true\"")) return `--${e.option} takes no value (got ${SafeText.argument(value)})`
      return `invalid value ${SafeText.argument(value)} for --${e.option}${expectation(e.expected)}`
    }
    case "MissingOption":
      return `missing required flag --${e.option}`
    case "MissingArgument":
      return `missing argument <${e.argument}>`
    default:
      return e.message
  }
}

/** The messages and the one hint for parse errors at `path` (`["codex-auth", "login"]`). */
const describeUsage = (errors: ReadonlyArray<CliErrorLike>, path: ReadonlyArray<string>): { readonly messages: ReadonlyArray<string>; readonly hint: string } => {
  const messages = errors.map((e) => usageMessage(e, path))
  const apiKeyValue = errors.some((e) => e._tag === "InvalidValue" && e.option === "with-api-key" && (e.value ?? "").length > 0)
  const secret = apiKeyValue || errors.some(hidesSecret)
  const suggestions = [...new Set(errors.flatMap((e) => e.suggestions ?? []))]
  const help = path.length > 1 ? `Run \`codex-auth --help\` (or \`${path.join(" ")} --help\`) for usage.` : "Run `codex-auth --help` (or `codex-auth <command> --help`) for usage."
  const hint = [
    secret ? `Keys and tokens are never taken as arguments. ${API_KEY_ON_STDIN} ${TYPED_SECRET}` : undefined,
    suggestions.length > 0 ? `Did you mean ${suggestions.map((s) => `\`${s}\``).join(" or ")}?` : undefined,
    help
  ].filter((h) => h !== undefined).join(" ")
  return { messages, hint }
}

/** The message, hint and exit code for any failure a command can end with (not yet made safe for a terminal: see `renderCause`). */
export const describeFailure = (error: unknown): { readonly message: string; readonly hint: string | undefined; readonly exitCode: number } => {
  if (Errors.isUserFacing(error)) return { message: error.userMessage, hint: error.hint, exitCode: error.exitCode }
  if (isCliError(error)) {
    const usage = describeUsage(error._tag === "ShowHelp" ? error.errors ?? [] : [error], error.commandPath ?? ["codex-auth"])
    return { message: usage.messages.join("; "), hint: usage.hint, exitCode: ExitCode.ExitCode.Usage }
  }
  return {
    message: `unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    hint: "This is a bug in codex-auth; please report it with the command you ran (never include tokens).",
    exitCode: ExitCode.ExitCode.Internal
  }
}

/** Renders a failed run on stderr (`error:` lines and a `hint:`, see `forTerminal`) and returns the exit code. */
export const renderCause = (cause: Cause.Cause<unknown>): number => {
  if (Cause.hasInterruptsOnly(cause)) {
    process.stderr.write("Cancelled.\n")
    return ExitCode.ExitCode.Interrupted
  }
  const error = Cause.squash(cause)
  if (error instanceof SilentExit) return error.code
  if (isCliError(error) && error._tag === "ShowHelp") {
    const errors = error.errors ?? []
    // No error: `codex-auth` alone, or `--help`; the help is already on stdout.
    if (errors.length === 0) return ExitCode.ExitCode.Ok
    const usage = describeUsage(errors, error.commandPath ?? ["codex-auth"])
    for (const m of usage.messages) process.stderr.write(`error: ${forTerminal(m)}\n`)
    process.stderr.write(`hint: ${forTerminal(usage.hint)}\n`)
    return ExitCode.ExitCode.Usage
  }
  const { exitCode, hint, message } = describeFailure(error)
  process.stderr.write(`error: ${forTerminal(message)}\n`)
  if (hint !== undefined) process.stderr.write(`hint: ${forTerminal(hint)}\n`)
  if (process.env["CODEX_AUTH_DEBUG"] === "1" && error instanceof Error && error.stack) process.stderr.write(`${forTerminal(error.stack)}\n`)
  return exitCode
}

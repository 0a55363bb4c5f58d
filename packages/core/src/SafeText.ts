/**
 * Text that came from outside — ID-token claims (email, plan, workspace), issuer error codes and
 * descriptions, anything read from auth.json or the keyring, command-line arguments — on its way
 * to a terminal. Every program that prints such text (the CLI's status, login, logout, doctor and
 * error output, the device-login worker, the library's own messages) goes through this module, so
 * one hostile byte is handled the same way everywhere.
 *
 * **Mental model**
 *
 * - {@link escape}: for text. Control characters (C0 including ESC, BEL, newline and CR; DEL; C1
 *   0x80–0x9F), bidirectional overrides and isolates (U+202A–202E, U+2066–2069), other invisible
 *   format characters and line/paragraph separators become visible escapes (`\x1b`, `\u202e`):
 *   nothing from outside can move the cursor, clear the screen, set the window title, ring the
 *   bell, start a new line that looks like ours, or reorder what is shown.
 * - {@link json}: for `--json` output. The same characters are written as JSON `\uXXXX` escapes,
 *   so the document stays valid JSON and decodes to exactly the original values, and no raw
 *   control byte reaches the terminal.
 * - {@link isWellFormedSecret}: tokens and keys are opaque printable text. One holding a control
 *   character or any whitespace is refused (a malformed issuer answer, or malformed stored
 *   credentials) rather than stored or printed.
 * - {@link looksLikeSecret} / {@link argument}: a command-line argument that looks like a key or a
 *   token is never echoed back in a message.
 *
 * Pure functions, no effect runtime: the CLI's lean path uses them too.
 *
 * @since 0.1.0
 */

/**
 * Every character that changes what a terminal shows or does instead of being shown: C0, DEL, C1,
 * the Arabic letter mark, zero-width and direction marks (U+200B–200F), line and paragraph
 * separators and bidi embeddings/overrides (U+2028–202E), invisible operators and bidi isolates
 * (U+2060–2069), and the zero-width no-break space (U+FEFF).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g
const UNSAFE_ONE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/
/** The same without C0, which `JSON.stringify` escapes in strings (and uses as whitespace around them). */
const UNSAFE_ABOVE_C0 = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0")

/** Whether `text` holds a character {@link escape} would escape. */
export const hasUnsafe = (text: string): boolean => UNSAFE_ONE.test(text)

/**
 * `text` with every control, bidi-override and invisible format character written as a visible
 * escape: `\x1b` for code points up to 0xFF, `\u202e` above. Everything else is kept as it is.
 *
 * **Example** (A hostile email claim)
 *
 * ```ts
 * escape("a\u001b]0;pwned\u0007@example.com") // => "a\\x1b]0;pwned\\x07@example.com"
 * ```
 */
// biome-ignore lint/suspicious/noShadowRestrictedNames: used as `SafeText.escape`; the global `escape` is deprecated and unused here
export const escape = (text: string): string =>
  text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0)
    return n <= 0xff ? `\\x${hex(n, 2)}` : `\\u${hex(n, 4)}`
  })

/** {@link escape} line by line: text of several lines keeps its line breaks, and nothing else is raw. */
export const escapeLines = (text: string): string => text.split("\n").map(escape).join("\n")

/**
 * `JSON.stringify(value, null, space)` (pretty-printed with 2 spaces unless `space` says otherwise; 0: compact) with the characters {@link escape} handles written as
 * `\uXXXX` escapes (JSON.stringify already escapes C0; this adds DEL, C1, bidi and invisible
 * characters). Valid JSON that decodes to `value`, without a raw control character.
 */
export const json = (value: unknown, space = 2): string =>
  JSON.stringify(value, null, space).replace(UNSAFE_ABOVE_C0, (c) => `\\u${hex(c.charCodeAt(0), 4)}`)

/**
 * Whether `value` can be a token or an API key: not empty, and without whitespace (any Unicode
 * space, newline or tab) or a character {@link escape} would escape. Tokens are opaque, but they
 * are printed (`codex-auth token`), pasted into headers and files: one with a newline or ESC in it
 * is malformed, never a credential.
 */
export const isWellFormedSecret = (value: string): boolean => value.length > 0 && !/\s/.test(value) && !UNSAFE_ONE.test(value)

/** What is wrong with a token or key, for messages (never the value): `undefined` when well-formed. */
export const secretProblem = (value: string): string | undefined =>
  value.length === 0
    ? "is empty"
    : UNSAFE_ONE.test(value)
    ? "contains control characters"
    : /\s/.test(value)
    ? "contains whitespace"
    : undefined

const SECRET_PREFIX = /^(?:sk|at|rt)-/i
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const OPAQUE = /^[A-Za-z0-9_-]{20,}$/

const secretShaped = (s: string): boolean => SECRET_PREFIX.test(s) || s.startsWith("eyJ") || JWT_SHAPE.test(s) || OPAQUE.test(s)

/**
 * Whether a command-line argument looks like a key or a token, and so must never be echoed: it
 * starts with `sk-`, `at-` or `rt-` (API keys, access and refresh tokens), has the shape of a JWT
 * (`xxx.yyy.zzz` in base64url, or starts with `eyJ`), or is an opaque string of 20 or more
 * `[A-Za-z0-9_-]` characters. For `name=value` (`--flag=value`, `-c key=value`) the value is
 * checked too. A flag's name is opaque text only with a digit or a capital letter
 * (`--experimental_client-id` is not, `--sk-…` is secret-shaped). Paths and URLs (anything with a
 * `/`) never are.
 */
export const looksLikeSecret = (arg: string): boolean => {
  const isFlag = arg.startsWith("-")
  const bare = isFlag ? arg.replace(/^-+/, "") : arg
  const eq = bare.indexOf("=")
  const name = eq >= 0 ? bare.slice(0, eq) : bare
  const value = eq >= 0 ? bare.slice(eq + 1) : undefined
  if (value !== undefined && secretShaped(value)) return true
  // Flag names are lower-case words (`--experimental_client-id`): a long one with a digit or a capital is pasted text.
  if (isFlag) return SECRET_PREFIX.test(name) || name.startsWith("eyJ") || JWT_SHAPE.test(name) || (OPAQUE.test(name) && /[0-9A-Z]/.test(name))
  return secretShaped(bare)
}

/** What a message says instead of an argument that looks like a secret. */
export const HIDDEN_ARGUMENT = "(an argument that looks like a key or token, not shown)"

/**
 * An argument as a message shows it: quoted and {@link escape}d, or {@link HIDDEN_ARGUMENT} when
 * it {@link looksLikeSecret}. Bounded to 60 characters.
 */
export const argument = (arg: string): string => {
  if (looksLikeSecret(arg)) return HIDDEN_ARGUMENT
  const shown = arg.length > 60 ? `${arg.slice(0, 60)}…` : arg
  return `"${escape(shown)}"`
}

/**
 * `text` with every occurrence of a secret-shaped argument of `argv` replaced by
 * {@link HIDDEN_ARGUMENT}: a last line of defence for messages built from arguments (a value that
 * was "not a duration", a `-c` override that was not `key=value`, …). Only whole arguments (and
 * the `value` of `name=value`) of at least 8 characters are replaced.
 */
export const hideSecretArguments = (text: string, argv: ReadonlyArray<string>): string => {
  const secrets = new Set<string>()
  for (const arg of argv) {
    if (!looksLikeSecret(arg)) continue
    const bare = arg.replace(/^-+/, "")
    const eq = bare.indexOf("=")
    for (const s of [arg, bare, eq >= 0 ? bare.slice(eq + 1) : ""]) if (s.length >= 8) secrets.add(s)
  }
  let out = text
  // Longest first, so a whole `--flag=value` is replaced before its value alone.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join(HIDDEN_ARGUMENT)
  return out
}

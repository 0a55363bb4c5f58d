/**
 * Recognises the argv shapes the fast path serves. Kept apart from the programs so `main.ts` can
 * decide without loading anything.
 *
 * Only exact shapes are taken: `--codex-home DIR` / `--codex-home=DIR` anywhere, then
 * `login status`, `login status --json` or `token`. Anything else (`--store`, `-c`, `--help`,
 * an unknown flag, a second `--codex-home`) goes to the full CLI, which parses and reports it.
 *
 * @since 0.1.0
 */
export type FastArgs =
  | { readonly command: "status"; readonly json: boolean; readonly codexHome: string | undefined }
  | { readonly command: "token"; readonly codexHome: string | undefined }

/** The fast-path program for `argv` (without the node and script paths), or undefined. */
export const matchFast = (argv: ReadonlyArray<string>): FastArgs | undefined => {
  let codexHome: string | undefined
  const rest: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    let value: string | undefined
    if (a === "--codex-home" && i + 1 < argv.length) value = argv[++i]
    else if (a.startsWith("--codex-home=")) value = a.slice("--codex-home=".length)
    else {
      rest.push(a)
      continue
    }
    if (codexHome !== undefined || value === undefined || value === "") return undefined
    codexHome = value
  }
  const [a, b, c, ...more] = rest
  if (a === "login" && b === "status" && more.length === 0 && (c === undefined || c === "--json")) {
    return { command: "status", json: c === "--json", codexHome }
  }
  if (a === "token" && b === undefined) return { command: "token", codexHome }
  return undefined
}

/**
 * Recognises the argv shapes the fast path serves. Kept apart from the programs so `main.ts` can
 * decide without loading anything.
 *
 * @since 0.1.0
 */
export interface FastArgs {
  readonly command: "status"
  readonly json: boolean
  readonly codexHome: string | undefined
}

/** Recognises `[--codex-home DIR] login status [--json]`; anything else → undefined. */
export const matchFast = (argv: ReadonlyArray<string>): FastArgs | undefined => {
  let codexHome: string | undefined
  const rest: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === "--codex-home" && i + 1 < argv.length) codexHome = argv[++i]
    else if (a.startsWith("--codex-home=")) codexHome = a.slice("--codex-home=".length)
    else rest.push(a)
  }
  if (codexHome === "") return undefined
  const [a, b, c, ...more] = rest
  if (a === "login" && b === "status" && more.length === 0 && (c === undefined || c === "--json")) {
    return { command: "status", json: c === "--json", codexHome }
  }
  return undefined
}

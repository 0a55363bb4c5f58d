/**
 * Warnings a process prints once, whichever copy of a module asks: the CLI's lean, fast and full
 * payloads each hold their own copy of storage, and a run that goes from one to the next must not
 * say the same thing twice. Without the effect runtime (the lean path uses it).
 *
 * @since 0.1.0
 */

const said: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for("codex-auth/warned-once/v1")] ??= new Set<string>()) as Set<string>

/** `process.emitWarning(message, { code })`, unless this process already emitted `key`. */
export const warnOnce = (key: string, message: string, code: string): void => {
  if (said.has(key)) return
  said.add(key)
  process.emitWarning(message, { code })
}

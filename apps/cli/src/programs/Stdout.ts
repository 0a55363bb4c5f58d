/**
 * What `login status` and `token` print, written straight to file descriptor 1. Creating
 * `process.stdout` for a pipe costs about 3 ms (Node builds a socket stream and loads its stream
 * modules), more than the rest of `token`. The bytes are those `Output.stdout` writes: the text
 * and a final newline.
 *
 * If a synchronous write fails (`EAGAIN` on a non-blocking pipe that is full, or anything else),
 * the rest, and every later write, goes through `process.stdout` as before, so nothing is lost or
 * reordered.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { writeSync } from "node:fs"

let stream = false

/** Prints `text` on stdout now, adding a final newline when it has none (no effect runtime needed). */
export const writeStdout = (text: string): void => {
  const bytes = Buffer.from(text.endsWith("\n") ? text : `${text}\n`, "utf8")
  let written = 0
  if (!stream) {
    try {
      while (written < bytes.length) written += writeSync(1, bytes, written)
      return
    } catch {
      stream = true
    }
  }
  process.stdout.write(bytes.subarray(written))
}

/** Prints `text` on stdout, adding a final newline when it has none. */
export const stdout = (text: string): Effect.Effect<void> => Effect.sync(() => writeStdout(text))

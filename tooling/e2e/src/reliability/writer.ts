/**
 * A writer process for the crash-consistency and lost-update harnesses: it opens the real
 * `@codex-auth/storage` FileStore on a CODEX_HOME and performs credential operations in a loop
 * until it is killed (or has done `--count` operations), printing one line per completed
 * operation. Run directly by Node (type stripping): `node writer.ts <json options>`.
 *
 * Variants (`kind`):
 * - `safe`: the product — `store.save`, `store.remove`, and refresh as `withLock(load → save)`.
 * - `inplace`: deliberately unsafe, to prove the harness has teeth: holds the real lock but writes
 *   auth.json in place (`O_TRUNC`, then 4 KiB chunks), as a naive implementation would.
 * - `nolock`: deliberately unsafe: refresh reads and writes without holding the lock around the
 *   read-modify-write (each save is still atomic), as a naive implementation would.
 *
 * Output lines: `ready`, then `save <k>`, `remove`, `refresh <from> <to>` (to = the document
 * number written; `refresh - 0` when there was nothing stored), and `done` at the end.
 */
import * as fs from "node:fs"
import { join } from "node:path"
import { FileStore } from "@codex-auth/storage"
import { Effect, Option } from "effect"
import { documentNumber, knownDocument, knownText } from "./documents.ts"

export type WriterKind = "safe" | "inplace" | "nolock"
export type WriterOp = "save" | "remove" | "refresh"

export interface WriterOptions {
  readonly codexHome: string
  readonly kind: WriterKind
  /** Operations picked at random, in proportion to how often each appears. */
  readonly ops: ReadonlyArray<WriterOp>
  /** Documents `save` picks from: 0 … documents-1. */
  readonly documents: number
  /** Stop after this many operations (default: run until killed). */
  readonly count?: number
}

const options = JSON.parse(process.argv[2] ?? "{}") as WriterOptions
const authPath = join(options.codexHome, "auth.json")
const store = await Effect.runPromise(FileStore.makeFileStore({ codexHome: options.codexHome, lockTimeoutMs: 60_000 }))
const out = (line: string) => fs.writeSync(1, `${line}\n`)

const writeInPlace = (text: string) => {
  const fd = fs.openSync(authPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600)
  try {
    const bytes = Buffer.from(text)
    for (let off = 0; off < bytes.length; off += 4096) fs.writeSync(fd, bytes, off, Math.min(4096, bytes.length - off))
  } finally {
    fs.closeSync(fd)
  }
}

const save = (k: number) =>
  options.kind === "inplace"
    ? store.withLock(Effect.sync(() => writeInPlace(knownText(k))))
    : store.save(knownDocument(k))

const refreshBody = Effect.gen(function*() {
  const current = yield* store.load
  const from = Option.isSome(current) ? documentNumber(current.value) : undefined
  const to = from === undefined ? 0 : from + 1
  yield* save(to)
  return `refresh ${from ?? "-"} ${to}`
})

const runOp = (op: WriterOp): Effect.Effect<string, unknown> => {
  switch (op) {
    case "save": {
      const k = Math.floor(Math.random() * options.documents)
      return Effect.as(save(k), `save ${k}`)
    }
    case "remove":
      return Effect.as(store.remove, "remove")
    case "refresh":
      return options.kind === "nolock" ? refreshBody : store.withLock(refreshBody)
  }
}

out("ready")
for (let i = 0; options.count === undefined || i < options.count; i++) {
  const op = options.ops[Math.floor(Math.random() * options.ops.length)] ?? "save"
  out(await Effect.runPromise(runOp(op)))
}
out("done")

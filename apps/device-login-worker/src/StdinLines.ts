/**
 * Lines of stdin with a length cap. The worker understands one command (`cancel`), so a line
 * longer than {@link MAX_LINE_BYTES} cannot be one: its bytes are dropped as they arrive (never
 * buffered whole) and it is reported once, when it ends. Memory stays within the cap plus one
 * chunk, whatever a supervisor writes.
 *
 * @since 0.1.0
 */

/** 64 KiB: the longest stdin line the worker keeps. */
export const MAX_LINE_BYTES = 64 * 1024

export interface LineHandlers {
  /** A complete line (without `\n`), at most `maxBytes` bytes. */
  readonly onLine: (line: string) => void
  /** A line longer than `maxBytes` ended (or input ended inside it); `bytes` is its length. */
  readonly onOverlong: (bytes: number) => void
}

/** Splits pushed chunks into lines, dropping over-long ones. */
export class LineSplitter {
  private parts: Array<Buffer> = []
  private pending = 0
  /** Length of the over-long line being dropped, or `undefined` when none is. */
  private dropping: number | undefined = undefined

  private readonly handlers: LineHandlers
  private readonly maxBytes: number

  constructor(handlers: LineHandlers, maxBytes: number = MAX_LINE_BYTES) {
    this.handlers = handlers
    this.maxBytes = maxBytes
  }

  push(chunk: Buffer): void {
    let start = 0
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start)
      const end = newline === -1 ? chunk.length : newline
      this.take(chunk.subarray(start, end))
      if (newline === -1) return
      this.finishLine()
      start = newline + 1
    }
  }

  /** End of input: a last line without `\n` still counts. */
  end(): void {
    if (this.pending > 0 || this.dropping !== undefined) this.finishLine()
  }

  private take(piece: Buffer) {
    if (piece.length === 0) return
    if (this.dropping !== undefined) {
      this.dropping += piece.length
      return
    }
    if (this.pending + piece.length > this.maxBytes) {
      this.dropping = this.pending + piece.length
      this.parts = []
      this.pending = 0
      return
    }
    // A copy: the chunk's buffer is not retained beyond the line.
    this.parts.push(Buffer.from(piece))
    this.pending += piece.length
  }

  private finishLine() {
    if (this.dropping !== undefined) {
      const bytes = this.dropping
      this.dropping = undefined
      this.handlers.onOverlong(bytes)
      return
    }
    const line = Buffer.concat(this.parts, this.pending).toString("utf8")
    this.parts = []
    this.pending = 0
    this.handlers.onLine(line)
  }
}

/** Feeds `input`'s chunks to a {@link LineSplitter}; returns a function that stops listening. */
export const readLines = (input: NodeJS.ReadableStream, handlers: LineHandlers, maxBytes: number = MAX_LINE_BYTES): () => void => {
  const splitter = new LineSplitter(handlers, maxBytes)
  const onData = (chunk: Buffer | string) => splitter.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
  const onEnd = () => splitter.end()
  input.on("data", onData)
  input.on("end", onEnd)
  return () => {
    input.off("data", onData)
    input.off("end", onEnd)
  }
}

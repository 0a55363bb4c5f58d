/**
 * The worker's stdin line splitter: lines split across chunks, CRLF, a last line without a
 * newline, and over-long lines dropped (reported once with their length) without being buffered,
 * while the lines around them still arrive.
 */
import { assert, describe, it } from "@effect/vitest"
import { PassThrough } from "node:stream"
import { LineSplitter, MAX_LINE_BYTES, readLines } from "../src/StdinLines.ts"

const collect = (maxBytes?: number) => {
  const lines: Array<string> = []
  const overlong: Array<number> = []
  const splitter = new LineSplitter({ onLine: (l) => lines.push(l), onOverlong: (n) => overlong.push(n) }, maxBytes)
  return { splitter, lines, overlong }
}

describe("LineSplitter", () => {
  it("splits lines across chunks, keeps UTF-8 split across chunks, and emits a last line without newline", () => {
    const { splitter, lines, overlong } = collect()
    const bytes = Buffer.from("can\u00e9\ncel\r\nping\nlast")
    splitter.push(bytes.subarray(0, 4))
    splitter.push(bytes.subarray(4, 9))
    splitter.push(bytes.subarray(9))
    splitter.end()
    assert.deepStrictEqual(lines, ["can\u00e9", "cel\r", "ping", "last"])
    assert.deepStrictEqual(overlong, [])
  })

  it("a line above the cap is dropped and reported once with its length; the next line still arrives", () => {
    const { splitter, lines, overlong } = collect(16)
    splitter.push(Buffer.from("ok\n0123456789"))
    splitter.push(Buffer.from("0123456789"))
    splitter.push(Buffer.from("0123456789\ncancel\n"))
    assert.deepStrictEqual(lines, ["ok", "cancel"])
    assert.deepStrictEqual(overlong, [30])
  })

  it("a line of exactly the cap is kept", () => {
    const { splitter, lines, overlong } = collect(16)
    splitter.push(Buffer.from(`${"x".repeat(16)}\n`))
    assert.deepStrictEqual(lines, ["x".repeat(16)])
    assert.deepStrictEqual(overlong, [])
  })

  it("input ending inside an over-long line reports it", () => {
    const { splitter, lines, overlong } = collect(4)
    splitter.push(Buffer.from("abcdefgh"))
    splitter.end()
    assert.deepStrictEqual(lines, [])
    assert.deepStrictEqual(overlong, [8])
  })

  it("does not hold on to an over-long line: 50 MB in 64 KiB chunks keeps memory flat", async () => {
    const input = new PassThrough()
    const lines: Array<string> = []
    const overlong: Array<number> = []
    readLines(input, { onLine: (l) => lines.push(l), onOverlong: (n) => overlong.push(n) })
    const chunk = Buffer.alloc(64 * 1024, "a")
    globalThis.gc?.()
    const before = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers
    let peak = 0
    for (let i = 0; i < 800; i++) {
      input.write(chunk)
      if (i % 50 === 0) {
        await new Promise((r) => setImmediate(r))
        peak = Math.max(peak, process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - before)
      }
    }
    input.end("\ncancel\n")
    await new Promise((r) => setImmediate(r))
    assert.deepStrictEqual(lines, ["cancel"])
    assert.deepStrictEqual(overlong, [800 * 64 * 1024])
    assert.isBelow(peak, 30 * 1024 * 1024, `grew by ${Math.round(peak / 1e6)} MB`)
    assert.strictEqual(MAX_LINE_BYTES, 65536)
  })
})

/**
 * The capped body reader against a real loopback server: answers up to the cap are read whole;
 * a `Content-Length` above it fails before the body is read; an endless chunked answer fails at
 * the cap and the connection is dropped (the server sees it close); a body that breaks off is a
 * `NetworkError` saying so, not an empty body.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { HttpClient } from "effect/http"
import { createServer, type Server, type ServerResponse } from "node:http"
import type * as net from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as BoundedBody from "../src/BoundedBody.ts"
import * as Tls from "../src/Tls.ts"

type Handler = (res: ServerResponse) => void
const handlers = new Map<string, Handler>()
/** Bytes of body the server managed to write per path, and whether the client hung up early. */
const written = new Map<string, { bytes: number; closedEarly: boolean }>()
let server: Server
let origin: string

const chunk = Buffer.alloc(64 * 1024, "x")

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume()
    const path = req.url ?? "/"
    const record = { bytes: 0, closedEarly: false }
    written.set(path, record)
    res.on("close", () => {
      if (!res.writableFinished) record.closedEarly = true
    })
    const write = res.write.bind(res)
    res.write = ((data: Buffer | string, ...rest: Array<never>) => {
      record.bytes += Buffer.byteLength(data)
      return write(data, ...rest)
    }) as typeof res.write
    ;(handlers.get(path) ?? ((r) => r.writeHead(404).end()))(res)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  origin = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

/** Writes 64 KiB chunks for as long as the client reads them. */
const endless: Handler = (res) => {
  res.writeHead(200, { "content-type": "application/json" })
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {
      // until the socket buffer is full
    }
    if (!res.destroyed) res.once("drain", pump)
  }
  pump()
}

const read = (path: string, options: BoundedBody.ReadOptions = {}) =>
  Effect.gen(function*() {
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const response = yield* client.post(`${origin}${path}`)
    return yield* BoundedBody.readText(response, `POST ${origin}${path}`, options)
  }).pipe(
    Effect.scoped,
    Effect.catchTag("HttpClientError", (e) => Effect.fail(Tls.toNetworkError(`POST ${origin}${path}`, e))),
    Effect.provide(Tls.layerHttpClientWith({}))
  )

describe("BoundedBody.readText", () => {
  it.live("reads an answer of exactly the cap, chunked or not", () =>
    Effect.gen(function*() {
      const body = "y".repeat(BoundedBody.MAX_ANSWER_BYTES)
      handlers.set("/exact", (res) => res.writeHead(200, { "content-length": String(body.length) }).end(body))
      handlers.set("/exact-chunked", (res) => {
        res.writeHead(200)
        res.write(body.slice(0, 1000))
        res.end(body.slice(1000))
      })
      assert.strictEqual((yield* read("/exact")).length, BoundedBody.MAX_ANSWER_BYTES)
      assert.strictEqual((yield* read("/exact-chunked")).length, BoundedBody.MAX_ANSWER_BYTES)
    }))

  it.live("decodes UTF-8 split across chunks", () =>
    Effect.gen(function*() {
      const text = JSON.stringify({ name: "Zoë ✓ 名前" })
      const bytes = Buffer.from(text)
      handlers.set("/utf8", (res) => {
        res.writeHead(200)
        res.write(bytes.subarray(0, 11))
        setTimeout(() => res.end(bytes.subarray(11)), 20)
      })
      assert.strictEqual(yield* read("/utf8"), text)
    }))

  it.live("one byte over the cap fails, naming the cap, with a hint", () =>
    Effect.gen(function*() {
      handlers.set("/over", (res) => {
        res.writeHead(200)
        res.end("z".repeat(2049))
      })
      const error = yield* Effect.flip(read("/over", { maxBytes: 2048 }))
      assert.strictEqual(error._tag, "NetworkError")
      assert.strictEqual(error.exitCode, 6)
      assert.include(error.userMessage, "the issuer's answer exceeded 2 KiB")
      assert.include(error.hint, "issuer URL")
      assert.isTrue(error._tag === "NetworkError" && error.permanent === true, "permanent: retrying cannot help")
    }))

  it.live("a Content-Length above the cap fails before the body is read, and the request is aborted", () =>
    Effect.gen(function*() {
      const size = 200 * 1024 * 1024
      handlers.set("/declared", (res) => {
        res.writeHead(200, { "content-length": String(size) })
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {
            // fill the socket
          }
          if (!res.destroyed) res.once("drain", pump)
        }
        pump()
      })
      const started = Date.now()
      const error = yield* Effect.flip(read("/declared"))
      assert.include(error.userMessage, "the issuer's answer exceeded 1 MiB (Content-Length: 209715200 bytes)")
      assert.isBelow(Date.now() - started, 2000)
      yield* Effect.sleep("200 millis")
      const seen = written.get("/declared")!
      assert.isTrue(seen.closedEarly, "the client closed the connection")
      assert.isBelow(seen.bytes, 16 * 1024 * 1024)
    }))

  it.live("an endless chunked answer fails at the cap and the connection is dropped", () =>
    Effect.gen(function*() {
      handlers.set("/endless", endless)
      const started = Date.now()
      const error = yield* Effect.flip(read("/endless"))
      assert.include(error.userMessage, "the issuer's answer exceeded 1 MiB; codex-auth stopped reading it")
      assert.isDefined(error.hint)
      assert.isBelow(Date.now() - started, 2000)
      yield* Effect.sleep("200 millis")
      const seen = written.get("/endless")!
      assert.isTrue(seen.closedEarly, "the client closed the connection")
      // The server stops once the client hangs up: a few MiB at most, not an endless stream.
      assert.isBelow(seen.bytes, 16 * 1024 * 1024)
    }))

  it.live("a body that breaks off is a NetworkError with a next step, not an empty body", () =>
    Effect.gen(function*() {
      handlers.set("/cut", (res) => {
        res.writeHead(200, { "content-length": "1000" })
        res.write("{\"access_token\":")
        setTimeout(() => res.destroy(), 20)
      })
      const error = yield* Effect.flip(read("/cut"))
      assert.include(error.userMessage, "in the middle of the answer")
      assert.include(error.hint, "try again")
    }))

  it.live("discard never fails, also on an endless answer", () =>
    Effect.gen(function*() {
      handlers.set("/discard", endless)
      yield* Effect.gen(function*() {
        const client = HttpClient.withScope(yield* HttpClient.HttpClient)
        yield* BoundedBody.discard(yield* client.get(`${origin}/discard`))
      }).pipe(Effect.scoped, Effect.provide(Tls.layerHttpClientWith({})), Effect.orDie)
    }))

  it("formats the cap", () => {
    assert.strictEqual(BoundedBody.formatBytes(1024 * 1024), "1 MiB")
    assert.strictEqual(BoundedBody.formatBytes(64 * 1024), "64 KiB")
    assert.strictEqual(BoundedBody.formatBytes(1000), "1000 bytes")
  })
})

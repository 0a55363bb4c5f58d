/**
 * Transport failures explained with a next step, against real sockets: a connection reset and a
 * connection closed by the server, and a dead proxy, which is named (credentials masked) with
 * the variable that set it, also for plain-http targets; a NO_PROXY host is not blamed on it.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { HttpClient } from "effect/http"
import * as net from "node:net"
import * as Tls from "../src/Tls.ts"

/** A raw TCP server that misbehaves in one way per request path. */
const rawServer = async () => {
  const sockets = new Set<net.Socket>()
  const raw = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    socket.once("data", (data) => {
      const path = data.toString("latin1").split(" ")[1]
      if (path === "/reset") socket.resetAndDestroy()
      else socket.destroy()
    })
  })
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()))
  return {
    origin: `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        raw.close(() => r())
      })
  }
}

const failOf = (url: string, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    return yield* client.post(url)
  }).pipe(
    Effect.catchTag("HttpClientError", (e) => Effect.fail(Tls.toNetworkError(`POST ${Tls.redactUrl(url)}`, e, { ca: undefined }))),
    Effect.provide(Tls.layerHttpClientWith(env)),
    Effect.flip
  )

describe("transport failures get a next step", () => {
  it.live("a connection reset and a closed socket", () =>
    Effect.gen(function*() {
      const raw = yield* Effect.promise(rawServer)
      try {
        const reset = yield* failOf(`${raw.origin}/reset`)
        assert.include(reset.userMessage, "the connection was reset by the other side before an answer came (ECONNRESET)")
        assert.include(reset.hint, "check that it is reachable")
        const closed = yield* failOf(`${raw.origin}/close`)
        assert.include(closed.userMessage, "the connection was closed by the other side before an answer came")
        assert.include(closed.hint, "try again")
      } finally {
        yield* Effect.promise(raw.close)
      }
    }))

  it.live("a dead proxy is named (credentials masked), for https and http targets", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = net.createServer().listen(0, "127.0.0.1", () => {
            const p = (probe.address() as net.AddressInfo).port
            probe.close(() => resolve(p))
          })
        })
      )
      const proxy = `http://proxyuser:proxysecret@127.0.0.1:${port}`
      const viaHttps = yield* failOf("https://issuer.invalid/oauth/token", { HTTPS_PROXY: proxy })
      assert.include(viaHttps.userMessage, `the proxy http://***@127.0.0.1:${port}/ (from HTTPS_PROXY) cannot be reached`)
      assert.include(viaHttps.hint, "HTTPS_PROXY")
      const viaHttp = yield* failOf("http://issuer.invalid/oauth/token", { http_proxy: proxy })
      assert.include(viaHttp.userMessage, "(from http_proxy) cannot be reached")
      for (const e of [viaHttps, viaHttp]) {
        assert.notInclude(`${e.userMessage} ${e.hint}`, "proxysecret")
        assert.notInclude(`${e.userMessage} ${e.hint}`, "proxyuser")
      }
      // NO_PROXY: the request goes direct, and the proxy is not blamed.
      const direct = yield* failOf(`http://127.0.0.1:${port}/oauth/token`, { HTTP_PROXY: proxy, NO_PROXY: "127.0.0.1" })
      assert.notInclude(direct.userMessage, "proxy")
      assert.include(direct.userMessage, "ECONNREFUSED")
    }))
})

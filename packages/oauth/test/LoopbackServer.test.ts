/**
 * The loopback listener: same port on 127.0.0.1 and ::1, never on other interfaces; a port
 * taken on either address is skipped; all taken → `port_in_use` naming the ports. (The login
 * lock: packages/storage/test/LoginLock.test.ts.)
 */
import type { Errors } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { createServer, type Server } from "node:net"
import { networkInterfaces } from "node:os"
import * as LoopbackServer from "../src/LoopbackServer.ts"

const hello: LoopbackServer.Handler = (r) => ({ status: 200, html: `hello ${r.host}` })

const occupy = (host: string, port = 0) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Server>((resolve, reject) => {
        const s = createServer()
        s.once("error", reject)
        s.listen({ host, port, ipv6Only: host === "::1" }, () => resolve(s))
      })
    ),
    (s) => Effect.promise(() => new Promise<void>((r) => s.close(() => r())))
  ).pipe(Effect.map((s) => (s.address() as { port: number }).port))

const connect = (host: string, port: number) =>
  Effect.promise(() =>
    fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}/auth/callback`, { signal: AbortSignal.timeout(2000) }).then(
      async (r) => `${r.status} ${await r.text()}`,
      (e: Error & { cause?: { code?: string } }) => `error ${e.cause?.code ?? e.name}`
    )
  )

describe("LoopbackServer.listen", () => {
  it.live("binds the same port on 127.0.0.1 and ::1 and nowhere else", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* LoopbackServer.listen([0], hello)
      assert.deepStrictEqual(server.addresses, [`127.0.0.1:${server.port}`, `[::1]:${server.port}`])
      assert.strictEqual(yield* connect("127.0.0.1", server.port), `200 hello 127.0.0.1:${server.port}`)
      assert.strictEqual(yield* connect("::1", server.port), `200 hello [::1]:${server.port}`)
      const external = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined && !a.internal && !a.address.startsWith("fe80"))
      for (const a of external) {
        assert.match(yield* connect(a!.address, server.port), /^error /, `reachable on ${a!.address}`)
      }
    })))

  it.live("skips a port held on either loopback address", () =>
    Effect.scoped(Effect.gen(function*() {
      const takenV4 = yield* occupy("127.0.0.1")
      const takenV6 = yield* occupy("::1")
      const server = yield* LoopbackServer.listen([takenV4, takenV6, 0], hello)
      assert.notStrictEqual(server.port, takenV4)
      assert.notStrictEqual(server.port, takenV6)
    })))

  it.live("fails with port_in_use naming the ports when all are taken, and releases what it bound", () =>
    Effect.scoped(Effect.gen(function*() {
      const a = yield* occupy("127.0.0.1")
      const b = yield* occupy("::1")
      // b is free on 127.0.0.1: the listener must bind it there, see ::1 taken, and let go again.
      const exit = yield* Effect.exit(Effect.scoped(LoopbackServer.listen([a, b], hello)))
      assert.isTrue(Exit.isFailure(exit))
      const failure = Exit.isFailure(exit) ? (exit.cause.reasons[0] as { error: Errors.LoginFailed }).error : undefined
      assert.strictEqual(failure?.code, "port_in_use")
      assert.include(failure?.userMessage ?? "", `port ${a} or ${b}`)
      assert.include(failure?.hint ?? "", "--device-auth")
      assert.match(yield* connect("127.0.0.1", b), /^error /)
    })))
})

/**
 * AuthenticatedClient against a real HTTP server on loopback that accepts only the current
 * token: headers added, one replay after a 401 with the refreshed token (same method and body),
 * no second replay, the original 401 passed through when there is nothing better, and auth
 * errors surfaced as typed failures.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { AuthManager, Errors } from "@codex-auth/core"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { HttpClientRequest } from "effect/http"
import { afterAll, beforeAll } from "vitest"
import * as AuthenticatedClient from "../src/AuthenticatedClient.ts"

interface Hit {
  readonly method: string
  readonly authorization: string | undefined
  readonly account: string | undefined
  readonly body: string
}

let server: Server
let base: string
let hits: Array<Hit> = []
/** Tokens the server accepts. */
let accepted = new Set<string>()

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
      const authorization = req.headers["authorization"]
      hits.push({ method: req.method ?? "", authorization, account: req.headers["chatgpt-account-id"] as string | undefined, body })
      const token = authorization?.replace(/^Bearer /, "")
      if (token !== undefined && accepted.has(token)) res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, echo: body }))
      else res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: "token_expired" } }))
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

/** A scripted manager: serves `token`; `refreshAfter401` moves to `next` (or None / an error). */
const fakeManager = (o: { token: string; next?: string | undefined; fail?: AuthManager.AuthError }) => {
  let current = o.token
  const stales: Array<string> = []
  const headers = () => ({ authorization: `Bearer ${current}`, "chatgpt-account-id": "acct-1" })
  const shape: AuthManager.AuthManagerShape = {
    current: Effect.die("unused"),
    accessToken: Effect.sync(() => Redacted.make(current)),
    cachedAccessToken: () => Redacted.make(current),
    authorizationHeaders: Effect.sync(headers),
    refreshAfter401: (stale) =>
      Effect.suspend(() => {
        stales.push(Redacted.value(stale))
        if (o.fail !== undefined) return Effect.fail(o.fail)
        if (o.next === undefined) return Effect.succeed(Option.none())
        current = o.next
        return Effect.succeed(Option.some(Redacted.make(o.next)))
      }),
    invalidate: Effect.void,
    refreshStatus: Effect.die("unused")
  }
  return { stales, layer: Layer.succeed(AuthManager.AuthManager, shape) }
}

const setup = (tokens: ReadonlyArray<string>) => {
  hits = []
  accepted = new Set(tokens)
}

const clientLayer = (manager: ReturnType<typeof fakeManager>) =>
  AuthenticatedClient.layer.pipe(Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, manager.layer)))

describe("AuthenticatedClient", () => {
  it.effect("adds the bearer token and ChatGPT-Account-Id; no refresh while the token works", () => {
    const manager = fakeManager({ token: "good" })
    return Effect.gen(function*() {
      setup(["good"])
      const client = yield* AuthenticatedClient.AuthenticatedClient
      const r = yield* client.get(`${base}/me`)
      assert.strictEqual(r.status, 200)
      assert.strictEqual(hits.length, 1)
      assert.strictEqual(hits[0]!.authorization, "Bearer good")
      assert.strictEqual(hits[0]!.account, "acct-1")
      assert.deepStrictEqual(manager.stales, [])
    }).pipe(Effect.provide(clientLayer(manager)))
  })

  it.effect("on 401: refreshAfter401(stale token), then replays the same request once with the new token", () => {
    const manager = fakeManager({ token: "old", next: "new" })
    return Effect.gen(function*() {
      setup(["new"])
      const client = yield* AuthenticatedClient.AuthenticatedClient
      const r = yield* client.execute(HttpClientRequest.post(`${base}/v1/things`).pipe(HttpClientRequest.bodyJsonUnsafe({ a: 1 })))
      assert.strictEqual(r.status, 200)
      assert.deepStrictEqual(manager.stales, ["old"])
      assert.deepStrictEqual(hits.map((h) => h.authorization), ["Bearer old", "Bearer new"])
      assert.deepStrictEqual(hits.map((h) => h.method), ["POST", "POST"])
      assert.strictEqual(hits[1]!.body, JSON.stringify({ a: 1 }))
      assert.strictEqual(((yield* r.json) as { echo: string }).echo, JSON.stringify({ a: 1 }))
    }).pipe(Effect.provide(clientLayer(manager)))
  })

  it.effect("a second 401 after the replay is returned as is (exactly one replay)", () => {
    const manager = fakeManager({ token: "old", next: "also-rejected" })
    return Effect.gen(function*() {
      setup([])
      const client = yield* AuthenticatedClient.AuthenticatedClient
      const r = yield* client.get(`${base}/me`)
      assert.strictEqual(r.status, 401)
      assert.strictEqual(hits.length, 2)
      assert.strictEqual(manager.stales.length, 1)
    }).pipe(Effect.provide(clientLayer(manager)))
  })

  it.effect("nothing better to retry with (API key): the original 401 comes back, no replay", () => {
    const manager = fakeManager({ token: "sk-key" })
    return Effect.gen(function*() {
      setup([])
      const client = yield* AuthenticatedClient.AuthenticatedClient
      const r = yield* client.get(`${base}/me`)
      assert.strictEqual(r.status, 401)
      assert.strictEqual(hits.length, 1)
    }).pipe(Effect.provide(clientLayer(manager)))
  })

  it.effect("ReauthRequired from the refresh fails the request with that typed error (exit code 3)", () => {
    const manager = fakeManager({ token: "old", fail: new Errors.ReauthRequired({ reason: "refresh_token_reused" }) })
    return Effect.gen(function*() {
      setup([])
      const client = yield* AuthenticatedClient.AuthenticatedClient
      const e = yield* Effect.flip(client.get(`${base}/me`))
      assert.strictEqual(e._tag, "ReauthRequired")
      assert.strictEqual(hits.length, 1)
    }).pipe(Effect.provide(clientLayer(manager)))
  })
})

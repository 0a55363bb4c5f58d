/**
 * RefreshTransport against a real HTTP server on loopback: wire format (JSON body, headers),
 * URL overrides, the permanent/transient classification of both error body shapes, timeouts
 * and transport errors, and that a failed refresh is sent exactly once.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { RefreshTransport as Port } from "@codex-auth/core"
import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as RefreshTransport from "../src/RefreshTransport.ts"

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

type Handler = (req: Seen, res: ServerResponse) => void

let server: Server
let base: string
let seen: Array<Seen> = []
let handler: Handler = (_req, res) => res.writeHead(500).end()

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => {
      const s = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body }
      seen.push(s)
      handler(s, res)
    })
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))

const setup = (h: Handler) => {
  seen = []
  handler = h
}

const env = (vars: Record<string, string> = {}) => ConfigProvider.layer(ConfigProvider.fromUnknown(vars))

const transport = (options: RefreshTransport.RefreshTransportOptions = {}, vars: Record<string, string> = {}) =>
  RefreshTransport.layerWith(options).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(env(vars)))

const request = (issuer = base): Port.RefreshRequest => ({
  refreshToken: Redacted.make("rt_secret_value"),
  issuer,
  clientId: Port.DEFAULT_CLIENT_ID,
  reason: "proactive_expiry"
})

const refresh = (req: Port.RefreshRequest = request()) =>
  Effect.gen(function*() {
    const t = yield* Port.RefreshTransport
    return yield* t.refresh(req)
  })

describe("RefreshTransport.refresh", () => {
  it.effect("sends exactly one JSON POST to {issuer}/oauth/token with Codex's body and headers", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 200, { id_token: "a.b.c", access_token: "new-access", refresh_token: "new-refresh" }))
      const tokens = yield* refresh()
      assert.strictEqual(seen.length, 1)
      const s = seen[0]!
      assert.strictEqual(s.method, "POST")
      assert.strictEqual(s.path, "/oauth/token")
      assert.match(s.headers["content-type"] ?? "", /^application\/json/)
      assert.strictEqual(s.headers["originator"], "codex_cli_rs")
      assert.match(s.headers["user-agent"] ?? "", /^codex-auth\/\S+ \(/)
      assert.deepStrictEqual(JSON.parse(s.body), {
        client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
        grant_type: "refresh_token",
        refresh_reason: "proactive_expiry",
        refresh_token: "rt_secret_value"
      })
      assert.strictEqual(Redacted.value(tokens.accessToken!), "new-access")
      assert.strictEqual(Redacted.value(tokens.refreshToken!), "new-refresh")
      assert.strictEqual(Redacted.value(tokens.idToken!), "a.b.c")
    }).pipe(Effect.provide(transport())))

  it.effect("absent fields in the answer stay undefined (the stored value is kept)", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 200, { access_token: "only-access" }))
      const tokens = yield* refresh()
      assert.strictEqual(Redacted.value(tokens.accessToken!), "only-access")
      assert.isUndefined(tokens.idToken)
      assert.isUndefined(tokens.refreshToken)
    }).pipe(Effect.provide(transport())))

  it.effect("CODEX_REFRESH_TOKEN_URL_OVERRIDE replaces the whole endpoint, whatever the issuer", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 200, { access_token: "x" }))
      yield* refresh(request("http://127.0.0.1:9/"))
      assert.strictEqual(seen[0]!.path, "/custom/token")
    }).pipe(Effect.provide(transport({}, { CODEX_REFRESH_TOKEN_URL_OVERRIDE: `http://127.0.0.1:${new URL(base).port}/custom/token` }))))

  it.effect("trailing slash on the issuer", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 200, { access_token: "x" }))
      yield* refresh(request(`${base}/`))
      assert.strictEqual(seen[0]!.path, "/oauth/token")
    }).pipe(Effect.provide(transport())))

  for (
    const [name, status, body, reason] of [
      ["OpenAI shape refresh_token_reused", 401, { error: { message: "m", type: "invalid_request_error", param: null, code: "refresh_token_reused" } }, "refresh_token_reused"],
      ["OAuth shape refresh_token_expired", 400, { error: "refresh_token_expired", error_description: "x" }, "refresh_token_expired"],
      ["top-level code refresh_token_invalidated (upper case)", 400, { code: "REFRESH_TOKEN_INVALIDATED" }, "refresh_token_invalidated"],
      ["bare 401 with another code", 401, { error: "invalid_grant" }, "http_401"],
      ["bare 401 with a non-JSON body", 401, "nope", "http_401"]
    ] as const
  ) {
    it.effect(`permanent: ${name} → ReauthRequired(${reason}), one request`, () =>
      Effect.gen(function*() {
        setup((_req, res) =>
          typeof body === "string" ? res.writeHead(status).end(body) : json(res, status, body)
        )
        const error = yield* Effect.flip(refresh())
        assert.strictEqual(error._tag, "ReauthRequired")
        if (error._tag === "ReauthRequired") assert.strictEqual(error.reason, reason)
        assert.strictEqual(error.exitCode, 3)
        assert.strictEqual(seen.length, 1)
      }).pipe(Effect.provide(transport())))
  }

  for (
    const [name, respond] of [
      ["HTTP 503", (res: ServerResponse) => json(res, 503, { error: { code: "server_error" } })],
      ["HTTP 429", (res: ServerResponse) => json(res, 429, { error: { code: "rate_limit_exceeded" } })],
      ["HTTP 400 invalid_request", (res: ServerResponse) => json(res, 400, { error: "invalid_request" })],
      ["malformed 200", (res: ServerResponse) => res.writeHead(200, { "content-type": "application/json" }).end("{\"access_tok")],
      ["200 with a non-string token", (res: ServerResponse) => json(res, 200, { access_token: 42 })],
      ["dropped connection", (res: ServerResponse) => res.socket?.destroy()]
    ] as const
  ) {
    it.effect(`transient: ${name} → NetworkError, exactly one request, no secret in the message`, () =>
      Effect.gen(function*() {
        setup((_req, res) => respond(res))
        const error = yield* Effect.flip(refresh())
        assert.strictEqual(error._tag, "NetworkError")
        assert.strictEqual(error.exitCode, 6)
        assert.include(error.userMessage, "/oauth/token")
        assert.notInclude(error.userMessage, "rt_secret_value")
        assert.strictEqual(seen.length, 1)
      }).pipe(Effect.provide(transport())))
  }

  for (const [field, value] of [["access_token", "at-\n-injected"], ["access_token", "at\u001b]0;pwned\u0007"], ["refresh_token", "rt with space"], ["id_token", "a.b.c\u009b2J"]] as const) {
    it.effect(`a 200 whose ${field} holds ${JSON.stringify(value).slice(-12)} is malformed: NetworkError (exit 6), no tokens, the value never shown`, () =>
      Effect.gen(function*() {
        setup((_req, res) => json(res, 200, { id_token: "a.b.c", access_token: "new-access", refresh_token: "new-refresh", [field]: value }))
        const error = yield* Effect.flip(refresh())
        assert.strictEqual(error._tag, "NetworkError")
        assert.strictEqual(error.exitCode, 6)
        assert.include(error.userMessage, `malformed token response (${field} contains`)
        assert.include(error.userMessage, "nothing was saved")
        assert.notInclude(error.userMessage + (error.hint ?? ""), value)
        assert.notInclude(error.userMessage + (error.hint ?? ""), "new-access")
        assert.include(error.hint ?? "", "Run the command again")
        assert.strictEqual(seen.length, 1)
      }).pipe(Effect.provide(transport())))
  }

  it.effect("an issuer error code with escape sequences is shown escaped", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 400, { error: { code: "bad\u001b]0;pwned\u0007\u001b[2J" } }))
      const error = yield* Effect.flip(refresh())
      assert.include(error.userMessage, "bad\\x1b]0;pwned\\x07\\x1b[2j") // codes are lower-cased
      assert.notMatch(error.userMessage, /[\u0000-\u001f]/)
    }).pipe(Effect.provide(transport())))

  it.live("timeout → NetworkError that says the outcome is unknown; not retried", () =>
    Effect.gen(function*() {
      setup((_req, res) => setTimeout(() => json(res, 200, { access_token: "late" }), 1500))
      const error = yield* Effect.flip(refresh())
      assert.strictEqual(error._tag, "NetworkError")
      assert.include(error.userMessage, "no answer within")
      assert.include(error.hint ?? "", "rotated")
      assert.strictEqual(seen.length, 1)
    }).pipe(Effect.provide(transport({ refreshTimeout: "300 millis" }))))

  it.effect("connection refused → NetworkError naming the target without userinfo or query", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(refresh(request("http://127.0.0.1:9")))
      assert.strictEqual(error._tag, "NetworkError")
      assert.include(error.userMessage, "POST http://127.0.0.1:9/oauth/token")
      assert.include(error.userMessage, "ECONNREFUSED")
    }).pipe(Effect.provide(transport())))
})

describe("RefreshTransport.revoke", () => {
  it.effect("POSTs {token, token_type_hint, client_id} as JSON to {issuer}/oauth/revoke", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 200, {}))
      const t = yield* Port.RefreshTransport
      yield* t.revoke({ token: Redacted.make("rt_x"), tokenTypeHint: "refresh_token", issuer: base, clientId: Port.DEFAULT_CLIENT_ID })
      assert.strictEqual(seen[0]!.path, "/oauth/revoke")
      assert.strictEqual(seen[0]!.headers["originator"], "codex_cli_rs")
      assert.deepStrictEqual(JSON.parse(seen[0]!.body), { token: "rt_x", token_type_hint: "refresh_token", client_id: "app_EMoamEEZ73f0CkXaXp7hrann" })
    }).pipe(Effect.provide(transport())))

  it.effect("CODEX_REVOKE_TOKEN_URL_OVERRIDE; a non-2xx answer is a NetworkError", () =>
    Effect.gen(function*() {
      setup((_req, res) => json(res, 400, { error: "unsupported_token_type" }))
      const t = yield* Port.RefreshTransport
      const error = yield* Effect.flip(t.revoke({ token: Redacted.make("rt_x"), tokenTypeHint: "refresh_token", issuer: "http://127.0.0.1:9", clientId: "c" }))
      assert.strictEqual(seen[0]!.path, "/r")
      assert.strictEqual(error._tag, "NetworkError")
      assert.include(error.userMessage, "HTTP 400")
    }).pipe(Effect.provide(transport({}, { CODEX_REVOKE_TOKEN_URL_OVERRIDE: `${base}/r` }))))

  it.live("short timeout", () =>
    Effect.gen(function*() {
      setup((_req, res) => setTimeout(() => json(res, 200, {}), 1500))
      const t = yield* Port.RefreshTransport
      const error = yield* Effect.flip(t.revoke({ token: Redacted.make("rt_x"), tokenTypeHint: "refresh_token", issuer: base, clientId: "c" }))
      assert.include(error.userMessage, "no answer within")
    }).pipe(Effect.provide(transport({ revokeTimeout: "200 millis" }))))
})

describe("extractErrorCode", () => {
  it("reads the three shapes codex-rs reads", () => {
    assert.strictEqual(RefreshTransport.extractErrorCode(JSON.stringify({ error: { code: "A" } })), "a")
    assert.strictEqual(RefreshTransport.extractErrorCode(JSON.stringify({ error: "b" })), "b")
    assert.strictEqual(RefreshTransport.extractErrorCode(JSON.stringify({ code: "c" })), "c")
    assert.isUndefined(RefreshTransport.extractErrorCode(""))
    assert.isUndefined(RefreshTransport.extractErrorCode("[1]"))
    assert.isUndefined(RefreshTransport.extractErrorCode(JSON.stringify({ error: 1 })))
  })
})

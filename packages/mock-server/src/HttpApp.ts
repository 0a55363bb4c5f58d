/**
 * The HTTP face of the mock issuer: one `effect/http` app that reads each request once, routes
 * `/_harness/*` to the control API, applies injected faults, lets the engine answer, and
 * records the exchange.
 *
 * **Details**
 *
 * Every protocol request passes through the same pipeline (classify → fault → handle →
 * record), so the app is a single handler over the engine's routing table rather than an
 * `HttpRouter` with one route per path: per-route handlers would each repeat that pipeline.
 * Dropped connections need the socket, which `NodeHttpServerRequest.toIncomingMessage` gives.
 *
 * @since 0.1.0
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Control from "./Control.ts"
import type { FaultAction, FaultEndpoint } from "./Faults.ts"
import { type IssuerEngine, type MockRequest, type MockResponse, openaiError, type RequestKind } from "./Issuer.ts"

const faultEndpoints = (kind: RequestKind): ReadonlyArray<FaultEndpoint> => {
  switch (kind) {
    case "authorize":
    case "discovery":
    case "jwks":
    case "usercode":
    case "devicetoken":
    case "revoke":
    case "userinfo":
      return [kind]
    case "refresh_token":
      return ["refresh", "token"]
    case "authorization_code":
    case "token_exchange":
    case "token":
      return ["token"]
    default:
      return []
  }
}

const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" }

/** Converts an engine response to an `effect/http` response. */
export const toServerResponse = (res: MockResponse): HttpServerResponse.HttpServerResponse => {
  switch (res._tag) {
    case "Json":
      return HttpServerResponse.jsonUnsafe(res.body, { status: res.status, headers: { ...SECURITY_HEADERS, ...res.headers } })
    case "Html":
      return HttpServerResponse.text(res.body, {
        status: res.status,
        contentType: "text/html; charset=utf-8",
        headers: { ...SECURITY_HEADERS, "cache-control": "no-store", "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'" }
      })
    case "Redirect":
      return HttpServerResponse.redirect(res.location, { status: 302, headers: { ...SECURITY_HEADERS, "cache-control": "no-store" } })
    case "Text":
      return HttpServerResponse.text(res.body, { status: res.status, contentType: res.contentType, headers: { ...SECURITY_HEADERS, ...res.headers } })
  }
}

const statusOf = (res: MockResponse): number => (res._tag === "Redirect" ? 302 : res.status)

const faultLabel = (action: FaultAction): string => {
  switch (action._tag) {
    case "Drop":
      return "drop"
    case "Malformed":
      return "malformed"
    case "SlowDown":
      return "slow_down"
    case "Status":
      return `status:${action.status}`
    case "Delay":
      return `latency:${action.latencyMs}`
  }
}

const faultResponse = (action: FaultAction): MockResponse | undefined => {
  switch (action._tag) {
    case "Malformed":
      return { _tag: "Text", status: 200, contentType: "application/json", body: "{\"access_token\": \"eyJhbGciOi" }
    case "SlowDown":
      return { _tag: "Json", status: 400, body: { error: "slow_down", error_description: "Polling too fast; wait longer between requests." } }
    case "Status": {
      const headers = action.retryAfterSeconds === undefined ? undefined : { "retry-after": String(action.retryAfterSeconds) }
      return action.status === 429
        ? openaiError(429, "rate_limit_exceeded", "Too many requests. Slow down.", headers)
        : openaiError(action.status, "server_error", `Injected fault: HTTP ${action.status}.`, headers)
    }
    case "Drop":
    case "Delay":
      return undefined
  }
}

/** The app serving `engine`: requires only the current request. */
export const make = (engine: IssuerEngine): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const url = new URL(request.url, "http://mock.invalid")
    const body = request.method === "GET" || request.method === "HEAD" ? "" : yield* Effect.orElseSucceed(request.text, () => "")
    const req: MockRequest = { method: request.method, path: url.pathname, query: url.searchParams, headers: { ...request.headers }, body }
    if (url.pathname.startsWith(Control.CONTROL_PREFIX)) return toServerResponse(Control.handle(engine, req))

    const kind = engine.classify(req)
    const action = engine.faults.take(faultEndpoints(kind))
    if (action !== undefined) {
      if (action.latencyMs > 0) yield* Effect.sleep(action.latencyMs)
      if (action._tag === "Drop") {
        engine.record(req, kind, 0, faultLabel(action))
        NodeHttpServerRequest.toIncomingMessage(request).socket?.destroy()
        return yield* Effect.interrupt
      }
      const injected = faultResponse(action)
      if (injected !== undefined) {
        engine.record(req, kind, statusOf(injected), faultLabel(action))
        return toServerResponse(injected)
      }
    }
    const res = engine.handle(req, kind)
    engine.record(req, kind, statusOf(res), action === undefined ? undefined : faultLabel(action))
    return toServerResponse(res)
  })

/**
 * The loopback HTTP listener for the browser sign-in, bound before the browser opens and kept
 * for the whole flow (never closed and re-bound).
 *
 * **Details**
 *
 * - The redirect URI says `localhost`, which a browser may resolve to 127.0.0.1 or ::1, so the
 *   same port is bound on **both** loopback addresses (RFC 8252 §8.3) and never on a wildcard
 *   or external address. Where this machine has no IPv6 loopback, 127.0.0.1 alone is used.
 * - A port counts as taken when either address is in use (another program on `[::1]:1455`
 *   would otherwise receive the code), and the next port is tried: 1455, then 1457 — the only
 *   two the issuer's redirect allow-list accepts.
 * - It is a bare `node:http` server on purpose: it needs per-address binding with the OS error
 *   for each, and one tiny handler (see `Callback`). Request and header timeouts are short;
 *   every answer closes its connection.
 *
 * @since 0.1.0
 */
import type { Errors } from "@codex-auth/core"
import { Effect, type Scope } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { IncomingRequest } from "./Callback.ts"
import * as LoginError from "./LoginError.ts"
import { PAGE_HEADERS, type Page } from "./Pages.ts"

export type Handler = (request: IncomingRequest) => Page | Promise<Page>

export interface LoopbackServer {
  readonly port: number
  /** `127.0.0.1:1455`, `[::1]:1455`. */
  readonly addresses: ReadonlyArray<string>
}

type BindResult =
  | { readonly _tag: "Bound"; readonly server: Server; readonly port: number }
  | { readonly _tag: "Error"; readonly code: string }

const bind = (host: string, port: number, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<BindResult> =>
  new Promise((resolve) => {
    const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000, keepAliveTimeout: 1000 }, handler)
    const onError = (e: NodeJS.ErrnoException) => {
      server.close()
      resolve({ _tag: "Error", code: e.code ?? "UNKNOWN" })
    }
    server.once("error", onError)
    server.listen({ host, port, ipv6Only: host === "::1", exclusive: true }, () => {
      server.off("error", onError)
      server.on("error", () => {})
      const address = server.address()
      resolve({ _tag: "Bound", server, port: typeof address === "object" && address !== null ? address.port : port })
    })
  })

const NO_IPV6 = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT", "EINVAL", "ENOTFOUND", "EPROTONOSUPPORT"])

const close = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections()
      resolve()
    }, 2000)
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })

/**
 * Listens on the first free port of `ports` (0 = any free port, for tests) on 127.0.0.1 and
 * ::1, until the scope closes. Fails with `port_in_use` / `port_denied` naming the ports.
 */
export const listen = (
  ports: ReadonlyArray<number>,
  handler: Handler
): Effect.Effect<LoopbackServer, Errors.LoginFailed, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<{ servers: Array<Server>; result: LoopbackServer | Errors.LoginFailed }> => {
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        const request: IncomingRequest = { method: req.method ?? "GET", url: req.url ?? "/", host: req.headers.host }
        req.resume()
        Promise.resolve()
          .then(() => handler(request))
          .catch((): Page => ({ status: 500, html: "<!doctype html><title>Error</title><p>Internal error. Return to your terminal.</p>" }))
          .then((page) => {
            if (res.headersSent || res.destroyed) return
            res.writeHead(page.status, { ...PAGE_HEADERS, "content-length": Buffer.byteLength(page.html) })
            res.end(page.html)
          })
      }
      const denied: Array<string> = []
      for (const wanted of ports) {
        const v4 = await bind("127.0.0.1", wanted, onRequest)
        if (v4._tag === "Error") {
          if (v4.code === "EACCES" || v4.code === "EPERM") denied.push(v4.code)
          continue
        }
        const v6 = await bind("::1", v4.port, onRequest)
        if (v6._tag === "Bound") {
          return { servers: [v4.server, v6.server], result: { port: v4.port, addresses: [`127.0.0.1:${v4.port}`, `[::1]:${v4.port}`] } }
        }
        if (NO_IPV6.has(v6.code) || (wanted === 0 && v6.code === "EADDRINUSE")) {
          return { servers: [v4.server], result: { port: v4.port, addresses: [`127.0.0.1:${v4.port}`] } }
        }
        await close(v4.server)
        if (v6.code === "EACCES" || v6.code === "EPERM") denied.push(v6.code)
      }
      const shown = ports.filter((p) => p !== 0)
      const failure = denied.length === ports.length && denied.length > 0
        ? LoginError.portDenied(shown, denied[0]!)
        : LoginError.portInUse(shown)
      return { servers: [], result: failure }
    }),
    ({ servers }) => Effect.promise(() => Promise.all(servers.map(close))).pipe(Effect.asVoid)
  ).pipe(
    Effect.flatMap(({ result }) => ("_tag" in result ? Effect.fail(result) : Effect.succeed(result)))
  )

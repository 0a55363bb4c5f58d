/**
 * The browser sign-in's loopback callback server under attack, on the real ports (1455, else
 * 1457; the fixed-ports lock is held), against the mock issuer: while the flow waits, hostile
 * clients send requests with a wrong Host (DNS rebinding) even with the right state, wrong paths
 * and methods, wrong, missing and forged states (including a forged `error`), malformed request
 * lines, 1 MB headers, URLs and bodies, slowloris connections and 200 parallel connections.
 * None of it may end the flow or take the server down; then the real redirect arrives — while the
 * slowloris connections are still open — and the sign-in completes.
 *
 * Bind addresses: the kernel's listening table (/proc/net/tcp{,6}) must show the port on
 * 127.0.0.1 and ::1 only — never a wildcard or an external address — so a non-loopback
 * connection is impossible. (Connecting to this machine's external address to prove it is not
 * done: this workplace forbids traffic to non-loopback addresses.)
 *
 * Secret hygiene of the flow: no token, API key, code or verifier appears in any URL, query or
 * body the mock recorded in clear, nor in the page the browser gets.
 */
import { type Callback, BrowserLogin, OAuthConfig } from "@codex-auth/oauth"
import { startMockIssuer } from "@codex-auth/mock-server"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Redacted } from "effect"
import * as http from "node:http"
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import { withFixedPortsLock } from "../src/ports.ts"
import { httpGet, listeningAddresses, rawRequest, slowloris } from "../src/reliability/loopback.ts"
import { findSecrets } from "../src/reliability/secrets.ts"

interface Attack {
  readonly name: string
  readonly host: "127.0.0.1" | "::1"
  readonly payload: string | Buffer
}

/** Whether this machine has an IPv6 loopback (the server then listens on ::1 too). */
const hasIpv6Loopback = (): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.createServer()
    s.once("error", () => resolve(false))
    s.listen({ host: "::1", port: 0, ipv6Only: true }, () => s.close(() => resolve(true)))
  })

const attacksFor = (port: number, state: string, ipv6: boolean): ReadonlyArray<Attack> => {
  const good = `localhost:${port}`
  const cb = (q: string) => `/auth/callback?${q}`
  const withState = cb(`code=forged-code&state=${state}`)
  const list: Array<Omit<Attack, "host">> = [
    // Right state, but the request did not come through a loopback name (DNS rebinding).
    { name: "wrong Host, right state", payload: httpGet(withState, `evil.example:${port}`) },
    { name: "Host without port", payload: httpGet(withState, "localhost") },
    { name: "Host on another port", payload: httpGet(withState, `localhost:${port + 1}`) },
    { name: "no Host header", payload: `GET ${withState} HTTP/1.0\r\n\r\n` },
    // Wrong paths, right state.
    { name: "path with a trailing slash", payload: httpGet(`/auth/callback/?code=x&state=${state}`, good) },
    { name: "path with a suffix", payload: httpGet(`/auth/callbackx?code=x&state=${state}`, good) },
    { name: "upper-case path", payload: httpGet(`/AUTH/CALLBACK?code=x&state=${state}`, good) },
    { name: "protocol-relative path, right state", payload: httpGet(`//evil.example/auth/callback?code=x&state=${state}`, good) },
    { name: "absolute-form target, right state", payload: httpGet(`http://evil.example/auth/callback?code=x&state=${state}`, good) },
    { name: "dot segments", payload: httpGet(`/auth/x/../../cancel?state=${state}`, good) },
    { name: "root", payload: httpGet("/", good) },
    // Wrong methods, right state.
    { name: "POST with the right state", payload: `POST ${withState} HTTP/1.1\r\nHost: ${good}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n` },
    { name: "HEAD with the right state", payload: `HEAD ${withState} HTTP/1.1\r\nHost: ${good}\r\nConnection: close\r\n\r\n` },
    // Wrong or missing state.
    { name: "wrong state", payload: httpGet(cb("code=forged&state=not-the-state"), good) },
    { name: "missing state", payload: httpGet(cb("code=forged"), good) },
    { name: "empty state", payload: httpGet(cb("code=forged&state="), good) },
    { name: "state prefix", payload: httpGet(cb(`code=forged&state=${state.slice(0, -1)}`), good) },
    { name: "state with a suffix", payload: httpGet(cb(`code=forged&state=${state}x`), good) },
    { name: "wrong state first, right second", payload: httpGet(cb(`code=forged&state=nope&state=${state}`), good) },
    { name: "forged error without state", payload: httpGet(cb("error=access_denied&error_description=forged"), good) },
    { name: "forged error with a wrong state", payload: httpGet(cb("error=access_denied&state=nope"), good) },
    // Malformed HTTP.
    { name: "garbage request line", payload: "GARBAGE\r\n\r\n" },
    { name: "HTTP/0.9", payload: `GET ${withState}\r\n\r\n` },
    { name: "NUL bytes", payload: `GET /auth/callback?state=\u0000 HTTP/1.1\r\nHost: ${good}\r\n\r\n` },
    { name: "header without colon", payload: `GET / HTTP/1.1\r\nHost ${good}\r\n\r\n` },
    { name: "smuggling: two lengths", payload: `POST /auth/callback HTTP/1.1\r\nHost: ${good}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET ${withState} HTTP/1.1\r\nHost: evil.example\r\n\r\n` },
    // Size.
    { name: "1 MB header", payload: `GET /auth/callback?state=x HTTP/1.1\r\nHost: ${good}\r\nX-Big: ${"a".repeat(1 << 20)}\r\n\r\n` },
    { name: "1 MB URL", payload: httpGet(`/auth/callback?state=x&pad=${"b".repeat(1 << 20)}`, good) },
    { name: "1 MB body", payload: `POST /auth/callback?state=x HTTP/1.1\r\nHost: ${good}\r\nContent-Length: ${1 << 20}\r\nConnection: close\r\n\r\n${"c".repeat(1 << 20)}` },
    { name: "10 000 headers", payload: `GET / HTTP/1.1\r\nHost: ${good}\r\n${"X-h: v\r\n".repeat(10_000)}\r\n` }
  ]
  return list.flatMap((a) => ipv6 ? [{ ...a, host: "127.0.0.1" as const }, { ...a, host: "::1" as const }] : [{ ...a, host: "127.0.0.1" as const }])
}

describe("loopback callback server under attack", () => {
  it("keeps waiting through hostile requests, slowloris and a flood, then completes with the real redirect", () =>
    withFixedPortsLock(async () => {
      const ipv6 = await hasIpv6Loopback()
      const hosts = ipv6 ? (["127.0.0.1", "::1"] as const) : (["127.0.0.1"] as const)
      const mock = await startMockIssuer({ autoApprove: true })
      const ignored: Array<Callback.IgnoreReason> = []
      let finished = false
      let report: {
        readonly listening: ReadonlyArray<string>
        readonly answers: ReadonlyArray<{ readonly name: string; readonly host: string; readonly status: number | undefined; readonly ms: number }>
        readonly floodAnswered: number
        readonly slowOpenAtCallback: number
        readonly pendingAfterAttacks: boolean
        readonly page: { readonly status: number; readonly text: string }
      } | undefined
      let attackRun: Promise<void> = Promise.resolve()
      try {
        const signedIn = await Effect.runPromise(
          BrowserLogin.run(
            {
              onIgnoredRequest: (reason) => Effect.sync(() => void ignored.push(reason)),
              onAuthorizeUrl: (info) =>
                Effect.sync(() => {
                  const port = info.port!
                  const state = new URL(info.url).searchParams.get("state")!
                  attackRun = (async () => {
                    const listening = listeningAddresses(port)
                    const slow = slowloris("127.0.0.1", port, 20, 200, 15_000)
                    const slow6 = slowloris(ipv6 ? "::1" : "127.0.0.1", port, 10, 200, 15_000)
                    try {
                      const answers = []
                      for (const a of attacksFor(port, state, ipv6)) {
                        const t = Date.now()
                        const r = await rawRequest(a.host, port, a.payload, 3_000)
                        answers.push({ name: a.name, host: a.host, status: r.status, ms: Date.now() - t })
                      }
                      // 200 parallel connections with forged requests.
                      const flood = await Promise.all(Array.from({ length: 200 }, (_, i) =>
                        rawRequest(hosts[i % hosts.length]!, port, httpGet(`/auth/callback?code=flood${i}&state=flood${i}`, `localhost:${port}`), 10_000)))
                      const pendingAfterAttacks = !finished
                      // The real redirect, as the browser follows it, while the slowloris connections are open.
                      const slowOpenAtCallback = slow.open() + slow6.open()
                      const toCallback = await fetch(info.url, { redirect: "manual" })
                      const location = toCallback.headers.get("location")!
                      const pageResponse = await fetch(location)
                      report = {
                        listening,
                        answers,
                        floodAnswered: flood.filter((r) => r.status !== undefined).length,
                        slowOpenAtCallback,
                        pendingAfterAttacks,
                        page: { status: pageResponse.status, text: await pageResponse.text() }
                      }
                    } finally {
                      slow.stop()
                      slow6.stop()
                    }
                  })()
                  attackRun.catch(() => {})
                })
            },
            { mode: "print", timeout: "60 seconds" },
            (s) => Effect.sync(() => {
              finished = true
              return s
            })
          ).pipe(
            Effect.provide(Layer.mergeAll(OAuthConfig.OAuthConfig.layerWith({ issuer: mock.url })).pipe(Layer.provideMerge(NodeHttpClient.layerUndici)))
          )
        )
        await attackRun
        const r = report!
        if (process.env["RELIABILITY_VERBOSE"] === "1") console.log(r.answers)
        console.log(`[reliability] loopback: ${r.answers.length} hostile requests, 200-connection flood (${r.floodAnswered} answered), ${r.slowOpenAtCallback} slowloris connections open at the real callback; ignored: ${JSON.stringify(countBy(ignored))}`)

        // Only the loopback addresses listen.
        expect([...r.listening].sort()).toEqual([...hosts])
        // Every hostile request was answered with an error (or refused at the HTTP layer), none with success.
        for (const a of r.answers) expect(a.status === undefined || a.status >= 400, `${a.name} on ${a.host}: ${a.status}`).toBe(true)
        expect(r.answers.filter((a) => a.name === "wrong Host, right state").map((a) => a.status)).toEqual(hosts.map(() => 400))
        expect(r.answers.filter((a) => a.name === "wrong state").map((a) => a.status)).toEqual(hosts.map(() => 400))
        expect(r.floodAnswered).toBe(200)
        expect(r.pendingAfterAttacks).toBe(true)
        expect(r.slowOpenAtCallback).toBeGreaterThan(0)
        expect(ignored.filter((x) => x === "host").length).toBeGreaterThanOrEqual(4 * hosts.length)
        expect(ignored.filter((x) => x === "state").length).toBeGreaterThanOrEqual(200)
        expect(ignored).toContain("path")
        expect(ignored).toContain("method")

        // The flow completed with the real callback.
        expect(finished).toBe(true)
        expect(signedIn.via).toBe("callback")
        expect(r.page.status).toBe(200)
        expect(r.page.text).toContain("Signed in")

        // No secret in the page or in anything the mock recorded in clear.
        const secrets = [
          Redacted.value(signedIn.tokens.idToken),
          Redacted.value(signedIn.tokens.accessToken),
          Redacted.value(signedIn.tokens.refreshToken),
          ...(signedIn.apiKey === undefined ? [] : [Redacted.value(signedIn.apiKey)])
        ]
        expect(findSecrets(r.page.text, secrets)).toEqual([])
        const recorded = JSON.stringify(await mock.requests())
        expect(findSecrets(recorded, secrets)).toEqual([])
        const exchange = (await mock.requests()).find((q) => q.kind === "authorization_code")!
        expect(String((exchange.body as Record<string, unknown>)["code_verifier"])).toMatch(/^redacted:/)
        expect(String((exchange.body as Record<string, unknown>)["code"])).toMatch(/^redacted:/)
      } finally {
        await attackRun.catch(() => {})
        await mock.close()
      }
    }), 120_000)
})

describe("the attack harness has teeth", () => {
  // A callback server with the real checks (loopback Host, exact path, GET, this login's state),
  // except the one left out: the attack list must contain something that ends the flow then.
  const variants = ["no Host check", "no state check", "pathname parsed leniently", "any method"] as const
  it.each(variants)("%s: some attack ends a flow that lacks it", async (missing) => {
    const ipv6 = await hasIpv6Loopback()
    const state = "the-real-state"
    let acceptedBy: string | undefined
    let port = 0
    const server = http.createServer((req, res) => {
      const raw = req.url ?? "/"
      const url = new URL(raw, "http://localhost")
      const hostOk = missing === "no Host check" || [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`].includes((req.headers.host ?? "").toLowerCase())
      const pathOk = missing === "pathname parsed leniently" ? url.pathname === "/auth/callback" : raw.split("?")[0] === "/auth/callback"
      const methodOk = missing === "any method" || req.method === "GET"
      const stateOk = missing === "no state check" || url.searchParams.get("state") === state
      if (acceptedBy === undefined && hostOk && pathOk && methodOk && stateOk && url.searchParams.get("code")) {
        acceptedBy = `${req.method} ${raw.slice(0, 60)} Host: ${req.headers.host}`
      }
      res.writeHead(400, { connection: "close" })
      res.end()
    })
    await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, r))
    try {
      port = (server.address() as net.AddressInfo).port
      for (const a of attacksFor(port, state, ipv6).filter((x) => x.host === "127.0.0.1")) {
        await rawRequest(a.host, port, a.payload, 2_000)
        if (acceptedBy !== undefined) break
      }
      expect(acceptedBy, `no attack would have ended a flow with ${missing}`).toBeDefined()
    } finally {
      server.close()
    }
  })
})

describe("callback routing (pure)", () => {
  // A request target that carries its own authority — protocol-relative
  // `//evil.example/auth/callback?…` or absolute-form `http://evil.example/auth/callback?…` — parses
  // to the callback pathname but is not the exact callback path: Callback.ts compares the raw path.
  it("request targets with an authority are not taken for the callback path", async () => {
    const { Callback } = await import("@codex-auth/oauth")
    const { Pkce } = await import("@codex-auth/oauth")
    const state = Pkce.generateState()
    for (const url of [`//evil.example/auth/callback?code=x&state=${Redacted.value(state)}`, `http://evil.example/auth/callback?code=x&state=${Redacted.value(state)}`]) {
      const r = Callback.route({ method: "GET", url, host: "localhost:1455" }, { port: 1455, state })
      expect(r._tag, url).toBe("Ignore")
    }
  })

  it("the exact callback path with the right state and a loopback Host is the only way in", async () => {
    const { Callback, Pkce } = await import("@codex-auth/oauth")
    const state = Pkce.generateState()
    const s = Redacted.value(state)
    const ok = Callback.route({ method: "GET", url: `/auth/callback?code=c&state=${s}`, host: "localhost:1455" }, { port: 1455, state })
    expect(ok._tag).toBe("Code")
    for (const host of ["127.0.0.1:1455", "[::1]:1455", "LOCALHOST:1455"]) {
      expect(Callback.route({ method: "GET", url: `/auth/callback?code=c&state=${s}`, host }, { port: 1455, state })._tag).toBe("Code")
    }
    for (const [url, host, method] of [
      [`/auth/callback?code=c&state=${s}`, "evil.example:1455", "GET"],
      [`/auth/callback?code=c&state=${s}`, "localhost:1457", "GET"],
      [`/auth/callback?code=c&state=${s}`, "localhost:1455", "POST"],
      [`/auth/callback?code=c&state=${s}x`, "localhost:1455", "GET"],
      [`/auth/callback?code=c`, "localhost:1455", "GET"],
      [`/auth/callback?error=access_denied`, "localhost:1455", "GET"]
    ] as const) {
      expect(Callback.route({ method, url, host }, { port: 1455, state })._tag, `${method} ${url} Host: ${host}`).toBe("Ignore")
    }
  })
})

const countBy = (xs: ReadonlyArray<string>): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const x of xs) out[x] = (out[x] ?? 0) + 1
  return out
}

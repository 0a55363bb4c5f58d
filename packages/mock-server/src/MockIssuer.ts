/**
 * `MockIssuer`: the mock authorization server as an Effect service. Building its layer starts an
 * HTTP (or HTTPS) server on the requested host and port; closing the scope stops it.
 *
 * **Example** (A test against an ephemeral mock)
 *
 * ```ts
 * it.live("refresh rotates", () =>
 *   Effect.gen(function*() {
 *     const issuer = yield* MockIssuer
 *     const tokens = yield* issuer.control.mintTokens({})
 *     // ... POST `${issuer.url}/oauth/token` ...
 *   }).pipe(Effect.provide(MockIssuer.layerTest())))
 * ```
 *
 * @since 0.1.0
 */
import { Errors, ExitCode } from "@codex-auth/core"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Layer, Schema } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { createServer as createHttpServer, type Server } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { isIPv6 } from "node:net"
import { join, resolve as resolvePath } from "node:path"
import type { FaultEndpoint, FaultRule } from "./Faults.ts"
import * as HttpApp from "./HttpApp.ts"
import { type ControlResult, type DeviceSummary, IssuerEngine, type OutboxMessage, type PendingAuthorization, type RecordedRequest, type TokenSet } from "./Issuer.ts"
import * as MockConfig from "./MockConfig.ts"
import * as Signer from "./Signer.ts"

/** A control operation failed (unknown user code, nothing pending, unknown account...). */
export class MockControlError extends Schema.TaggedError<MockControlError>()("MockControlError", {
  operation: Schema.String,
  code: Schema.String,
  status: Schema.Number,
  detail: Schema.String
}) {
  override get message() {
    return `${this.operation}: ${this.detail} (${this.code})`
  }
}

/** The server could not start: it could not listen, or could not set up TLS. */
export class MockServerStartError extends Schema.TaggedError<MockServerStartError>()("MockServerStartError", {
  stage: Schema.Literals(["listen", "tls"]),
  address: Schema.String,
  detail: Schema.String
}) implements Errors.UserFacing {
  get userMessage() {
    return `The mock issuer could not start on ${this.address}: ${this.detail}`
  }
  get hint() {
    return this.stage === "listen"
      ? "Pick another --port (0 chooses a free one), stop the process using it, or bind an address this machine has."
      : "Check that the --tls directory can be created and written, or run without --tls."
  }
  readonly exitCode = ExitCode.ExitCode.Network
  override get message() {
    return this.userMessage
  }
}

/** How to start a mock issuer. */
export interface MockIssuerOptions {
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number | undefined
  /** Address to bind (only this one). Default `127.0.0.1`. */
  readonly host?: string | undefined
  /**
   * Serve HTTPS with a fresh private CA and a server certificate for localhost, 127.0.0.1 and
   * ::1. With `dir`, the CA certificate is written to `dir/ca.pem`.
   */
  readonly tls?: boolean | { readonly dir?: string | undefined } | undefined
  /** Configuration in options form (give this or `configFile`, not both). */
  readonly config?: MockConfig.MockConfigInput | undefined
  /** A JSON or TOML configuration file (give this or `config`, not both). */
  readonly configFile?: string | undefined
  /** Approve browser sign-ins and device codes immediately (overrides the config value). */
  readonly autoApprove?: boolean | undefined
}

export interface DeviceChoice {
  readonly email?: string | undefined
  readonly workspaceId?: string | undefined
}

/** The control operations, as Effects. */
export interface MockIssuerControl {
  readonly approveDevice: (userCode: string, choice?: DeviceChoice) => Effect.Effect<DeviceSummary, MockControlError>
  readonly denyDevice: (userCode: string) => Effect.Effect<DeviceSummary, MockControlError>
  readonly devices: Effect.Effect<ReadonlyArray<DeviceSummary>>
  readonly pendingAuthorizations: Effect.Effect<ReadonlyArray<PendingAuthorization>>
  readonly approveAuthorization: (choice?: DeviceChoice & { readonly session?: string | undefined }) => Effect.Effect<{ readonly redirectTo: string }, MockControlError>
  readonly denyAuthorization: (choice?: { readonly session?: string | undefined; readonly reason?: "access_denied" | "missing_codex_entitlement" | undefined }) => Effect.Effect<{ readonly redirectTo: string }, MockControlError>
  readonly revokeAccount: (email: string) => Effect.Effect<{ readonly grants: number }, MockControlError>
  readonly expireTokens: (options: { readonly email?: string | undefined; readonly access?: boolean | undefined; readonly refresh?: boolean | undefined }) => Effect.Effect<{ readonly accessTokens: number; readonly refreshTokens: number }, MockControlError>
  readonly mintTokens: (options?: { readonly email?: string | undefined; readonly workspaceId?: string | undefined; readonly accessTokenTtlSeconds?: number | undefined; readonly idTokenTtlSeconds?: number | undefined }) => Effect.Effect<TokenSet & { readonly account_id: string }, MockControlError>
  readonly setFaults: (endpoint: FaultEndpoint, rules: ReadonlyArray<FaultRule>) => Effect.Effect<void>
  readonly clearFaults: (endpoint?: FaultEndpoint) => Effect.Effect<void>
  readonly setClockOffset: (seconds: number) => Effect.Effect<void>
  readonly setAutoApprove: (enabled: boolean) => Effect.Effect<void>
  readonly clearRequests: Effect.Effect<void>
  readonly reset: Effect.Effect<void>
  readonly outbox: Effect.Effect<ReadonlyArray<OutboxMessage>>
  readonly config: Effect.Effect<MockConfig.MockConfig>
}

export interface MockIssuerShape {
  /** Issuer base URL, no trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string
  /** The CA certificate (PEM) when serving HTTPS. */
  readonly caPem: string | undefined
  /** Where the CA certificate was written (`tls.dir/ca.pem`). */
  readonly caPath: string | undefined
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  readonly control: MockIssuerControl
  /** The protocol engine itself, for synchronous inspection in tests. */
  readonly engine: IssuerEngine
}

const lift = <A>(operation: string, f: () => ControlResult<A>): Effect.Effect<A, MockControlError> =>
  Effect.suspend(() => {
    const r = f()
    return r.ok ? Effect.succeed(r.value) : Effect.fail(new MockControlError({ operation, code: r.failure.code, status: r.failure.status, detail: r.failure.message }))
  })

const controlOf = (engine: IssuerEngine): MockIssuerControl => ({
  approveDevice: (userCode, choice) => lift("approveDevice", () => engine.approveDevice(userCode, choice)),
  denyDevice: (userCode) => lift("denyDevice", () => engine.denyDevice(userCode)),
  devices: Effect.sync(() => engine.devices()),
  pendingAuthorizations: Effect.sync(() => engine.pendingAuthorizations()),
  approveAuthorization: (choice) => lift("approveAuthorization", () => engine.approveAuthorization(choice)),
  denyAuthorization: (choice) => lift("denyAuthorization", () => engine.denyAuthorization(choice)),
  revokeAccount: (email) => lift("revokeAccount", () => engine.revokeAccount(email)),
  expireTokens: (options) => lift("expireTokens", () => engine.expireTokens(options)),
  mintTokens: (options) => lift("mintTokens", () => engine.mintTokens(options)),
  setFaults: (endpoint, rules) => Effect.sync(() => engine.faults.add(endpoint, rules)),
  clearFaults: (endpoint) => Effect.sync(() => engine.faults.clear(endpoint)),
  setClockOffset: (seconds) => Effect.sync(() => engine.setClockOffset(seconds)),
  setAutoApprove: (enabled) => Effect.sync(() => engine.setAutoApprove(enabled)),
  clearRequests: Effect.sync(() => engine.clearRequests()),
  reset: Effect.sync(() => engine.reset()),
  outbox: Effect.sync(() => engine.outbox()),
  config: Effect.sync(() => engine.config())
})

const hostForUrl = (host: string): string => (isIPv6(host) ? `[${host}]` : host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host)

const resolveConfig = Effect.fnUntraced(function*(options: MockIssuerOptions) {
  if (options.configFile !== undefined && options.config !== undefined) {
    return yield* new Errors.ConfigError({ file: options.configFile, detail: "both a configuration file and inline options were given; use one of them" })
  }
  if (options.configFile !== undefined) return yield* MockConfig.loadFile(options.configFile)
  return yield* Effect.fromResult(MockConfig.decode(options.config ?? {}, "mock issuer options"))
})

const makeTls = Effect.fnUntraced(function*(tls: MockIssuerOptions["tls"], address: string) {
  if (tls === undefined || tls === false) return undefined
  const certs = yield* Effect.tryPromise({
    // Loaded on demand: plain-HTTP mocks never pay for the X.509 library.
    try: () => import("@codex-auth/tls/DevCertificates").then((m) => m.generateDevCertificates({ commonName: "codex-auth mock issuer CA" })),
    catch: (cause) => new MockServerStartError({ stage: "tls", address, detail: `cannot create TLS certificates: ${String(cause)}` })
  })
  const dir = typeof tls === "object" ? tls.dir : undefined
  const caPath = dir === undefined ? undefined : join(resolvePath(dir), "ca.pem")
  if (dir !== undefined && caPath !== undefined) {
    yield* Effect.tryPromise({
      try: async () => {
        await mkdir(dir, { recursive: true })
        await writeFile(caPath, certs.caCertPem, { mode: 0o644 })
      },
      catch: (cause) => new MockServerStartError({ stage: "tls", address, detail: `cannot write the CA certificate to ${caPath}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}` })
    })
  }
  return { certs, caPath }
})

/** Starts a mock issuer in the current scope. */
export const make = Effect.fn("MockIssuer.make")(function*(options: MockIssuerOptions = {}) {
  const host = options.host ?? "127.0.0.1"
  const port = options.port ?? 0
  const address = `${hostForUrl(host)}:${port}`
  const config = yield* resolveConfig(options)
  const tls = yield* makeTls(options.tls, address)
  let nodeServer: Server | undefined
  const server = yield* NodeHttpServer.make(
    () => {
      nodeServer = tls === undefined ? createHttpServer() : createHttpsServer({ cert: tls.certs.serverCertPem, key: tls.certs.serverKeyPem })
      nodeServer.keepAliveTimeout = 2000
      return nodeServer
    },
    { host, port, gracefulShutdownTimeout: "2 seconds" }
  ).pipe(Effect.mapError((e) => new MockServerStartError({ stage: "listen", address, detail: e.cause instanceof Error ? e.cause.message : String(e.cause) })))
  const bound = server.address._tag === "UnixPathAddress" ? port : server.address.port
  const url = `${tls === undefined ? "http" : "https"}://${hostForUrl(host)}:${bound}`
  const engine = new IssuerEngine({ issuer: url, config, signer: Signer.make(), autoApprove: options.autoApprove ?? config.autoApprove })
  yield* server.serve(HttpApp.make(engine))
  // Runs before the server's own graceful close: idle keep-alive sockets would otherwise hold it open.
  yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer?.closeAllConnections()))
  return MockIssuer.of({
    url,
    caPem: tls?.certs.caCertPem,
    caPath: tls?.caPath,
    requests: Effect.sync(() => engine.requests()),
    control: controlOf(engine),
    engine
  })
})

/** The mock authorization server. */
export class MockIssuer extends Context.Service<MockIssuer, MockIssuerShape>()("@codex-auth/mock-server/MockIssuer") {
  /** A mock issuer with the given options (fixed port, TLS, config file, auto-approve). */
  static readonly layer = (options: MockIssuerOptions = {}): Layer.Layer<MockIssuer, MockServerStartError | Errors.ConfigError> => Layer.effect(MockIssuer, make(options))

  /** An in-process mock on an ephemeral port of 127.0.0.1, for tests. */
  static readonly layerTest = (config?: MockConfig.MockConfigInput, options: Omit<MockIssuerOptions, "config" | "port" | "host"> = {}): Layer.Layer<MockIssuer, MockServerStartError | Errors.ConfigError> =>
    Layer.effect(MockIssuer, make({ ...options, config, port: 0, host: "127.0.0.1" }))
}


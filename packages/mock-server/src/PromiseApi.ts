/**
 * A Promise API over {@link MockIssuer} for process-level tests and non-Effect users:
 * `startMockIssuer(options)` resolves once the server listens; `close()` stops it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import type { FaultEndpoint, FaultRule } from "./Faults.ts"
import type { DeviceSummary, IssuerEngine, OutboxMessage, PendingAuthorization, RecordedRequest, TokenSet } from "./Issuer.ts"
import type { MockConfig } from "./MockConfig.ts"
import { type DeviceChoice, MockIssuer, type MockIssuerOptions } from "./MockIssuer.ts"

/** The control operations, as Promises (rejecting with `MockControlError`). */
export interface MockIssuerControlAsync {
  readonly approveDevice: (userCode: string, choice?: DeviceChoice) => Promise<DeviceSummary>
  readonly denyDevice: (userCode: string) => Promise<DeviceSummary>
  readonly devices: () => Promise<ReadonlyArray<DeviceSummary>>
  readonly pendingAuthorizations: () => Promise<ReadonlyArray<PendingAuthorization>>
  readonly approveAuthorization: (choice?: DeviceChoice & { readonly session?: string | undefined }) => Promise<{ readonly redirectTo: string }>
  readonly denyAuthorization: (choice?: { readonly session?: string | undefined; readonly reason?: "access_denied" | "missing_codex_entitlement" | undefined }) => Promise<{ readonly redirectTo: string }>
  readonly revokeAccount: (email: string) => Promise<{ readonly grants: number }>
  readonly expireTokens: (options: { readonly email?: string | undefined; readonly access?: boolean | undefined; readonly refresh?: boolean | undefined }) => Promise<{ readonly accessTokens: number; readonly refreshTokens: number }>
  readonly mintTokens: (options?: { readonly email?: string | undefined; readonly workspaceId?: string | undefined; readonly accessTokenTtlSeconds?: number | undefined; readonly idTokenTtlSeconds?: number | undefined }) => Promise<TokenSet & { readonly account_id: string }>
  readonly setFaults: (endpoint: FaultEndpoint, rules: ReadonlyArray<FaultRule>) => Promise<void>
  readonly clearFaults: (endpoint?: FaultEndpoint) => Promise<void>
  readonly setClockOffset: (seconds: number) => Promise<void>
  readonly setAutoApprove: (enabled: boolean) => Promise<void>
  readonly clearRequests: () => Promise<void>
  readonly reset: () => Promise<void>
  readonly outbox: () => Promise<ReadonlyArray<OutboxMessage>>
  readonly config: () => Promise<MockConfig>
}

export interface RunningMockIssuer {
  readonly url: string
  readonly caPem?: string
  readonly caPath?: string
  readonly control: MockIssuerControlAsync
  readonly requests: () => Promise<ReadonlyArray<RecordedRequest>>
  readonly engine: IssuerEngine
  readonly close: () => Promise<void>
}

/** Starts a mock issuer; rejects with `MockServerStartError` or `ConfigError`. */
export const startMockIssuer = async (options: MockIssuerOptions = {}): Promise<RunningMockIssuer> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(Layer.buildWithScope(MockIssuer.layer(options), scope)).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  const issuer = Context.get(context, MockIssuer)
  const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(effect)
  const c = issuer.control
  let closed: Promise<void> | undefined
  return {
    url: issuer.url,
    ...(issuer.caPem === undefined ? {} : { caPem: issuer.caPem }),
    ...(issuer.caPath === undefined ? {} : { caPath: issuer.caPath }),
    engine: issuer.engine,
    requests: () => run(issuer.requests),
    control: {
      approveDevice: (userCode, choice) => run(c.approveDevice(userCode, choice)),
      denyDevice: (userCode) => run(c.denyDevice(userCode)),
      devices: () => run(c.devices),
      pendingAuthorizations: () => run(c.pendingAuthorizations),
      approveAuthorization: (choice) => run(c.approveAuthorization(choice)),
      denyAuthorization: (choice) => run(c.denyAuthorization(choice)),
      revokeAccount: (email) => run(c.revokeAccount(email)),
      expireTokens: (o) => run(c.expireTokens(o)),
      mintTokens: (o) => run(c.mintTokens(o)),
      setFaults: (endpoint, rules) => run(c.setFaults(endpoint, rules)),
      clearFaults: (endpoint) => run(c.clearFaults(endpoint)),
      setClockOffset: (seconds) => run(c.setClockOffset(seconds)),
      setAutoApprove: (enabled) => run(c.setAutoApprove(enabled)),
      clearRequests: () => run(c.clearRequests),
      reset: () => run(c.reset),
      outbox: () => run(c.outbox),
      config: () => run(c.config)
    },
    close: () => (closed ??= Effect.runPromise(Scope.close(scope, Exit.void)))
  }
}

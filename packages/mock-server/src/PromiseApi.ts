/**
 * A Promise API over {@link MockIssuer} for process-level tests and non-Effect users:
 * `startMockIssuer(options)` resolves once the server listens; `close()` stops it.
 *
 * @since 0.1.0
 */
import { Context, Effect, Exit, Layer, Scope } from "effect"
import type { IssuerEngine, RecordedRequest } from "./Issuer.ts"
import { MockIssuer, type MockIssuerControl, type MockIssuerOptions } from "./MockIssuer.ts"

/**
 * The control operations of `MockIssuerControl`, as Promises (rejecting with `MockControlError`):
 * an effect becomes a function of no arguments, a function returning an effect keeps its
 * parameters.
 */
export type MockIssuerControlAsync = {
  readonly [K in keyof MockIssuerControl]: MockIssuerControl[K] extends Effect.Effect<infer A, infer _E> ? () => Promise<A>
    : MockIssuerControl[K] extends (...args: infer P) => Effect.Effect<infer A, infer _E> ? (...args: P) => Promise<A>
    : never
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
    control: Object.fromEntries(
      Object.entries(c).map(([name, op]: [string, unknown]) => [
        name,
        Effect.isEffect(op)
          ? () => run(op as Effect.Effect<unknown, unknown>)
          : (...args: ReadonlyArray<unknown>) => run((op as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown, unknown>)(...args))
      ])
    ) as unknown as MockIssuerControlAsync,
    close: () => (closed ??= Effect.runPromise(Scope.close(scope, Exit.void)))
  }
}

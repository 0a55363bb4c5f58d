/**
 * Composes the layers a command needs from the shared flags: CODEX_HOME, configuration
 * (config.toml, `-c`, managed configuration), the credential store it selects, and the login
 * policy — which is enforced here, at every start: stored credentials that break it are logged
 * out and the command fails with the policy exit code. Commands only ask for services.
 *
 * @since 0.1.0
 */
import { AuthPolicy, type CredentialStore } from "@codex-auth/core"
import { CodexConfig, Policy } from "@codex-auth/policy"
import { CodexHome, MemoryStore, Selection } from "@codex-auth/storage"
import { Effect, Layer, Option } from "effect"
import type { RootFlags } from "./Root.ts"

export interface AppContext {
  readonly codexHome: CodexHome.CodexHome
  /** `--store`, when given; configuration decides otherwise (managed configuration wins over it). */
  readonly storeFlag: Selection.StoreMode | undefined
  /** Raw `-c key=value` overrides. */
  readonly overrides: ReadonlyArray<string>
}

export const appContext = (flags: RootFlags): AppContext => ({
  codexHome: CodexHome.resolveCodexHome(Option.getOrUndefined(flags.codexHome)),
  storeFlag: Option.getOrUndefined(flags.store),
  overrides: flags.config
})

const storeFor = (ctx: AppContext, config: CodexConfig.CodexConfigShape): Layer.Layer<CredentialStore.CredentialStore, never> | ReturnType<typeof Selection.layer> => {
  const mode = CodexConfig.effectiveStoreMode(config, ctx.storeFlag)
  return mode.value === "ephemeral"
    ? MemoryStore.layer()
    : Selection.layer({ mode: mode.value, codexHome: ctx.codexHome.path })
}

export interface BaseLayerOptions {
  /** Log out and fail when stored credentials break the policy (default true; `logout` skips it). */
  readonly enforcePolicy?: boolean
}

/** CodexConfig + CredentialStore + AuthPolicy for a command, with the startup policy check. */
export const baseLayer = (ctx: AppContext, options: BaseLayerOptions = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* CodexConfig.load({ codexHome: ctx.codexHome.path, overrides: ctx.overrides })
    const deps = Layer.mergeAll(
      storeFor(ctx, config),
      Layer.succeed(AuthPolicy.AuthPolicy, Policy.make(config)),
      Layer.succeed(CodexConfig.CodexConfig, config)
    )
    return options.enforcePolicy === false
      ? deps
      : Layer.effectDiscard(Policy.enforceAtStartup).pipe(Layer.provideMerge(deps))
  }))

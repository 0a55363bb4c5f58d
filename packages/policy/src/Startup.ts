/**
 * The services every codex-auth program starts from, composed once for the CLI and the
 * device-login worker: the configuration (`$CODEX_HOME/config.toml`, `-c`, managed configuration,
 * requirements), the credential store it selects, and the login policy — enforced at start, so
 * stored credentials that break it are logged out and the program fails with the policy exit code.
 *
 * @since 0.1.0
 */
import { AuthPolicy, type CredentialStore, type Errors } from "@codex-auth/core"
import * as Selection from "@codex-auth/storage/Selection"
import { Effect, Layer } from "effect"
import * as CodexConfig from "./CodexConfig.ts"
import * as Policy from "./Policy.ts"

export interface StartupOptions {
  /** The CODEX_HOME directory (absolute). */
  readonly codexHome: string
  /** Raw `-c key=value` overrides. */
  readonly overrides: ReadonlyArray<string>
  /** `--store`, when given; configuration decides otherwise (managed configuration wins over it). */
  readonly storeFlag: Selection.StoreFlag | undefined
  /** Log out and fail when stored credentials break the policy (default true; `logout` and `doctor` skip it). */
  readonly enforcePolicy?: boolean
}

/** The credential store the configuration selects (`Selection`). */
export const storeLayer = (
  config: CodexConfig.CodexConfigShape,
  options: Pick<StartupOptions, "codexHome" | "storeFlag">
): Layer.Layer<CredentialStore.CredentialStore, Errors.StorageError> => {
  const mode = CodexConfig.effectiveStoreMode(config, options.storeFlag)
  return Selection.layer({ mode: mode.value, codexHome: options.codexHome })
}

/** CodexConfig + CredentialStore + AuthPolicy, with the startup policy check unless `enforcePolicy` is false. */
export const layer = (options: StartupOptions) =>
  Layer.unwrap(Effect.gen(function*() {
    const config = yield* CodexConfig.load({ codexHome: options.codexHome, overrides: options.overrides })
    const deps = Layer.mergeAll(
      storeLayer(config, options),
      Layer.succeed(AuthPolicy.AuthPolicy, Policy.make(config)),
      Layer.succeed(CodexConfig.CodexConfig, config)
    )
    return options.enforcePolicy === false
      ? deps
      : Layer.effectDiscard(Policy.enforceAtStartup).pipe(Layer.provideMerge(deps))
  }))

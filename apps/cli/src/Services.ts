/**
 * Composes the layers a command needs from the shared flags: CODEX_HOME, the credential store
 * chosen by `--store` / configuration, and the login policy. Commands only ask for services.
 *
 * @since 0.1.0
 */
import { AuthPolicy, type CredentialStore, type Errors } from "@codex-auth/core"
import { CodexHome, Selection } from "@codex-auth/storage"
import { Layer, Option } from "effect"
import type { RootFlags } from "./Root.ts"

export interface AppContext {
  readonly codexHome: CodexHome.CodexHome
  readonly storeMode: Selection.StoreMode
  readonly storeModeSource: string
}

export const appContext = (flags: RootFlags): AppContext => {
  const codexHome = CodexHome.resolveCodexHome(Option.getOrUndefined(flags.codexHome))
  const fromFlag = Option.getOrUndefined(flags.store)
  return {
    codexHome,
    storeMode: fromFlag ?? "file",
    storeModeSource: fromFlag !== undefined ? "--store" : "default"
  }
}

export const storeLayer = (ctx: AppContext): Layer.Layer<CredentialStore.CredentialStore, Errors.StorageError> =>
  Selection.layer({ mode: ctx.storeMode, codexHome: ctx.codexHome.path })

export const policyLayer = (_ctx: AppContext): Layer.Layer<AuthPolicy.AuthPolicy> => AuthPolicy.AuthPolicy.layerAllowAll

export const baseLayer = (ctx: AppContext) => Layer.mergeAll(storeLayer(ctx), policyLayer(ctx))

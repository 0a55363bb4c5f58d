/**
 * Composes the layers a command needs from the shared flags: CODEX_HOME, configuration
 * (config.toml, `-c`, managed configuration), the credential store it selects, and the login
 * policy — which is enforced here, at every start: stored credentials that break it are logged
 * out and the command fails with the policy exit code (`@codex-auth/policy`'s `Startup`, which
 * the device-login worker composes too). Commands only ask for services.
 *
 * @since 0.1.0
 */
import { Startup } from "@codex-auth/policy"
import { CodexHome, type Selection } from "@codex-auth/storage"
import { Option } from "effect"
import type { RootFlags } from "./Root.ts"

export interface AppContext {
  readonly codexHome: CodexHome.CodexHome
  /** `--store`, when given; configuration decides otherwise (managed configuration wins over it). */
  readonly storeFlag: Selection.StoreFlag | undefined
  /** Raw `-c key=value` overrides. */
  readonly overrides: ReadonlyArray<string>
}

export const appContext = (flags: RootFlags): AppContext => ({
  codexHome: CodexHome.resolveCodexHome(Option.getOrUndefined(flags.codexHome)),
  storeFlag: Option.getOrUndefined(flags.store),
  overrides: flags.config
})

export interface BaseLayerOptions {
  /** Log out and fail when stored credentials break the policy (default true; `logout` skips it). */
  readonly enforcePolicy?: boolean
}

/** CodexConfig + CredentialStore + AuthPolicy for a command, with the startup policy check (`Startup.layer`). */
export const baseLayer = (ctx: AppContext, options: BaseLayerOptions = {}) =>
  Startup.layer({ codexHome: ctx.codexHome.path, overrides: ctx.overrides, storeFlag: ctx.storeFlag, ...options })

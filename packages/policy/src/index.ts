/**
 * `@codex-auth/policy`: Codex configuration (config.toml, `-c`, managed configuration,
 * requirements.toml) resolved into one `AuthPolicy`, enforced at login and at every start.
 *
 * @since 0.1.0
 */
export * as CodexConfig from "./CodexConfig.ts"
export * as ConfigFiles from "./ConfigFiles.ts"
export * as Policy from "./Policy.ts"
export * as Rules from "./Rules.ts"
export * as Settings from "./Settings.ts"
export * as Startup from "./Startup.ts"
export * as TomlSource from "./TomlSource.ts"

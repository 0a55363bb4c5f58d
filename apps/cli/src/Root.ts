/**
 * The `codex-auth` root command and the flags every subcommand shares.
 *
 * @since 0.1.0
 */
import type { Selection } from "@codex-auth/storage"
import type { Option } from "effect"
import { Command, Flag } from "effect/cli"

export const root = Command.make("codex-auth").pipe(
  Command.withSharedFlags({
    codexHome: Flag.String("codex-home").pipe(
      Flag.withDescription("Directory holding auth.json and config.toml (default: $CODEX_HOME, else ~/.codex)"),
      Flag.optional
    ),
    store: Flag.Literals("store", ["file", "keyring", "auto"]).pipe(
      Flag.withDescription("Credential store for this run (overrides cli_auth_credentials_store; managed configuration still wins)"),
      Flag.optional
    ),
    config: Flag.String("config").pipe(
      Flag.withAlias("c"),
      Flag.withDescription("Override a config.toml value, as key=value with a TOML value (repeatable), e.g. -c forced_login_method=\"api\""),
      Flag.atLeast(0)
    )
  }),
  Command.withDescription("Sign in to OpenAI Codex, inspect and manage the credentials every Codex client shares.")
)

/** An on/off flag, off unless given (`--json`, `--paste`, …). */
export const switchFlag = (name: string, description: string) =>
  Flag.Boolean(name).pipe(Flag.withDescription(description), Flag.withDefault(false))

export interface RootFlags {
  readonly codexHome: Option.Option<string>
  readonly store: Option.Option<Selection.StoreFlag>
  readonly config: ReadonlyArray<string>
}

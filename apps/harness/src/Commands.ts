/**
 * `codex-auth-harness` commands: `serve` runs the mock issuer until SIGINT/SIGTERM;
 * `check-config` validates a mock configuration file and prints it resolved.
 *
 * @since 0.1.0
 */
import { SafeText } from "@codex-auth/core"
import { MockConfig, MockIssuer } from "@codex-auth/mock-server"
import { Context, Effect, Layer, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { scenario } from "./Scenarios.ts"

// Escaped (core `SafeText`): account e-mails and names come from a settings file the user passed.
const out = (text: string) => Effect.sync(() => void process.stdout.write(`${SafeText.escapeLines(text)}\n`))

export const serve = Command.make(
  "serve",
  {
    port: Flag.Int("port").pipe(Flag.withAlias("p"), Flag.withDescription("TCP port to listen on (0 picks a free one)"), Flag.withDefault(0)),
    host: Flag.String("host").pipe(Flag.withDescription("Address to bind, and only that one (127.0.0.1, ::1, localhost...)"), Flag.withDefault("127.0.0.1")),
    tls: Flag.String("tls").pipe(Flag.withDescription("Serve HTTPS with a fresh private CA; writes the CA certificate to DIR/ca.pem"), Flag.optional),
    config: Flag.String("config").pipe(Flag.withDescription("Mock configuration file (.json or .toml): accounts, workspaces, lifetimes, device settings"), Flag.optional),
    autoApprove: Flag.Boolean("auto-approve").pipe(Flag.withDescription("Approve every browser sign-in and device code at once with the default account"), Flag.withDefault(false))
  },
  Effect.fn("harness.serve")(function*({ autoApprove, config, host, port, tls }) {
    return yield* Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer.build(
          MockIssuer.layer({
            port,
            host,
            tls: Option.match(tls, { onNone: () => false, onSome: (dir) => ({ dir }) }),
            configFile: Option.getOrUndefined(config),
            autoApprove: autoApprove ? true : undefined
          })
        )
        const issuer = Context.get(context, MockIssuer)
        const settings = yield* issuer.control.config
        yield* out(`Issuer: ${issuer.url}`)
        if (issuer.caPath !== undefined) yield* out(`CA: ${issuer.caPath}`)
        yield* out(`Control API: ${issuer.url}/_harness/`)
        yield* out(`Device page: ${issuer.url}/codex/device`)
        yield* out(`Accounts: ${settings.accounts.map((a) => a.email).join(", ")} (default ${settings.defaultAccount})`)
        yield* out(`Auto-approve: ${settings.autoApprove ? "on" : "off"}`)
        yield* out(`Try: codex login --device-auth --experimental_issuer ${issuer.url}${issuer.caPath === undefined ? "" : ` (with CODEX_CA_CERTIFICATE=${issuer.caPath})`}`)
        yield* out("Press Ctrl-C to stop.")
        return yield* Effect.never
      })
    )
  })
).pipe(
  Command.withDescription("Run the mock auth.openai.com until SIGINT/SIGTERM; prints `Issuer: <url>` (and `CA: <path>` with --tls) first."),
  Command.withExamples([
    { command: "codex-auth-harness serve --tls ./certs --auto-approve", description: "HTTPS on a free port; CA in ./certs/ca.pem; approvals are automatic" },
    { command: "codex-auth-harness serve --port 8443 --config mock.toml", description: "A fixed port and custom accounts" }
  ])
)

export const checkConfig = Command.make(
  "check-config",
  { file: Flag.String("file").pipe(Flag.withAlias("f"), Flag.withDescription("Mock configuration file (.json or .toml)")) },
  Effect.fn("harness.checkConfig")(function*({ file }) {
    const config = yield* MockConfig.loadFile(file)
    yield* out(JSON.stringify(config, null, 2))
  })
).pipe(Command.withDescription("Validate a mock configuration file and print it with defaults filled in."))

export const root = Command.make("codex-auth-harness").pipe(
  Command.withDescription("A local, faithful stand-in for auth.openai.com (browser, device, refresh, revoke) with a control API, for tests and demos."),
  Command.withSubcommands([serve, checkConfig, scenario])
)

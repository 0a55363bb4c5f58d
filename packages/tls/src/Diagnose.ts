/**
 * Network diagnosis for `codex-auth doctor`: which CA variable and file were chosen and what they
 * hold, the proxy in effect for the issuer, whether the issuer answers over that route (and the
 * clock skew against its `Date` header), whether the loopback ports 1455 and 1457 are free, and
 * whether this is a headless, SSH or WSL session. Returns plain JSON-serializable data and never
 * fails: every problem becomes an entry in `problems`, with its next step.
 *
 * @since 0.1.0
 */
import { RefreshTransport } from "@codex-auth/core"
import { Duration, Effect, Option } from "effect"
import { HttpClient } from "effect/http"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import * as BoundedBody from "./BoundedBody.ts"
import { baseRoots, type CaSelection, type Env, loadSelectedCaBundle, selectCaBundle } from "./CaBundle.ts"
import { proxyFor, readProxySettings } from "./Proxy.ts"
import * as Tls from "./Tls.ts"

export type Severity = "error" | "warning" | "info"

/** One finding, with what to do about it. */
export interface Problem {
  readonly area: "ca" | "proxy" | "issuer" | "clock" | "ports" | "session"
  readonly severity: Severity
  readonly message: string
  readonly next: string
}

export interface CaDiagnosis {
  /** `none`: no variable set, system and Node roots only. */
  readonly status: "none" | "ok" | "error"
  readonly variable: CaSelection["variable"] | null
  readonly path: string | null
  /** Variables set but not used because a higher-precedence one won. */
  readonly shadowed: ReadonlyArray<{ readonly variable: string; readonly path: string }>
  readonly certificateCount: number
  readonly certificates: ReadonlyArray<{
    readonly subject: string
    readonly notAfter: string
    readonly expired: boolean
    readonly isCa: boolean
  }>
  readonly ignoredBlocks: ReadonlyArray<string>
  /** Node's roots (bundled + NODE_EXTRA_CA_CERTS + system store) the bundle is added to. */
  readonly baseRootCount: number
  readonly nodeExtraCaCerts: string | null
  readonly error: string | null
}

export interface ProxyDiagnosis {
  readonly status: "none" | "ok" | "error"
  /** Masked URLs (credentials replaced by `***`). */
  readonly http: { readonly variable: string; readonly url: string } | null
  readonly https: { readonly variable: string; readonly url: string } | null
  readonly noProxy: { readonly variable: string; readonly value: string } | null
  /** `direct`, or the masked proxy URL the issuer is reached through. */
  readonly issuerRoute: string
  readonly error: string | null
}

export interface IssuerDiagnosis {
  readonly url: string
  readonly checked: boolean
  readonly reachable: boolean
  readonly status: number | null
  readonly latencyMs: number | null
  readonly error: string | null
  /** Server `Date` minus local time, in seconds (±1 s resolution); null when unknown. */
  readonly clockSkewSeconds: number | null
}

export interface PortDiagnosis {
  readonly port: number
  readonly host: string
  readonly status: "free" | "in-use" | "denied" | "error"
  readonly detail: string | null
}

export interface SessionDiagnosis {
  readonly platform: NodeJS.Platform
  /** No display server reachable (Linux without DISPLAY / WAYLAND_DISPLAY), or an SSH session. */
  readonly headless: boolean
  readonly display: string | null
  readonly ssh: boolean
  readonly wsl: boolean
}

export interface NetworkDiagnosis {
  readonly ca: CaDiagnosis
  readonly proxy: ProxyDiagnosis
  readonly issuer: IssuerDiagnosis
  readonly ports: ReadonlyArray<PortDiagnosis>
  readonly session: SessionDiagnosis
  readonly problems: ReadonlyArray<Problem>
}

export interface DiagnoseOptions {
  readonly env?: Env
  /** Default `https://auth.openai.com`. */
  readonly issuer?: string
  /** Skip the request to the issuer (no network). Default false. */
  readonly offline?: boolean
  /** Default 1455 and 1457, the redirect ports the issuer allows. */
  readonly ports?: ReadonlyArray<number>
  readonly portHost?: string
  /** Timeout of the issuer request. Default 5 seconds. */
  readonly timeout?: Duration.Input
  /** Where to look for "microsoft" (WSL). Default `/proc/version`. */
  readonly procVersionPath?: string
  /** Clock skew above this many seconds is a problem. Default 120. */
  readonly maxSkewSeconds?: number
}

/** The issuer checked by default: Codex's (`https://auth.openai.com`). */
export const DEFAULT_ISSUER = RefreshTransport.DEFAULT_ISSUER
export const LOGIN_PORTS: ReadonlyArray<number> = [1455, 1457]

/** Probes whether a TCP port can be bound (and releases it at once). */
export const probePort = (port: number, host = "127.0.0.1"): Promise<PortDiagnosis> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", (error: NodeJS.ErrnoException) => {
      const status = error.code === "EADDRINUSE" ? "in-use" : error.code === "EACCES" ? "denied" : "error"
      resolve({ port, host, status, detail: error.code ?? error.message })
    })
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve({ port, host, status: "free", detail: null }))
    })
  })

/**
 * Whether this is Linux under WSL: `WSL_DISTRO_NAME` or `WSL_INTEROP` set, or a Microsoft/WSL
 * kernel in `/proc/version`. Shared by `doctor` and the browser sign-in (which opens the browser
 * with `wslview` and warns about Windows' localhost there).
 */
export const isWsl = (env: Env = process.env, procVersionPath = "/proc/version"): boolean => {
  if (process.platform !== "linux") return false
  if (nonEmpty(env.WSL_DISTRO_NAME) !== undefined || nonEmpty(env.WSL_INTEROP) !== undefined) return true
  try {
    return /microsoft|wsl/i.test(readFileSync(procVersionPath, "utf8"))
  } catch {
    return false
  }
}

/** Headless / SSH / WSL detection from the environment and `/proc/version`. */
export const detectSession = async (env: Env = process.env, procVersionPath = "/proc/version"): Promise<SessionDiagnosis> => {
  const platform = process.platform
  const display = nonEmpty(env.WAYLAND_DISPLAY) ?? nonEmpty(env.DISPLAY) ?? null
  const ssh = [env.SSH_CONNECTION, env.SSH_TTY, env.SSH_CLIENT].some((v) => nonEmpty(v) !== undefined)
  const wsl = isWsl(env, procVersionPath)
  const noDisplay = platform === "linux" && display === null && !wsl
  return { platform, headless: noDisplay || ssh, display, ssh, wsl }
}

/** `CN=…` of a one-line subject, else the whole subject. */
const commonName = (subject: string): string => /(?:^|, )CN=([^,]+)/.exec(subject)?.[1] ?? subject

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value)

/** The CA part of the diagnosis (never fails). */
export const diagnoseCa = Effect.fn("Diagnose.ca")(function*(env: Env) {
  const selection = selectCaBundle(env)
  const baseRootCount = baseRoots().length
  const nodeExtraCaCerts = nonEmpty(env.NODE_EXTRA_CA_CERTS) ?? null
  const common = { baseRootCount, nodeExtraCaCerts }
  if (selection === undefined) {
    const none: CaDiagnosis = {
      status: "none",
      variable: null,
      path: null,
      shadowed: [],
      certificateCount: 0,
      certificates: [],
      ignoredBlocks: [],
      ...common,
      error: null
    }
    return { diagnosis: none, problems: [] as Array<Problem>, bundle: undefined }
  }
  const problems: Array<Problem> = []
  for (const s of selection.shadowed) {
    problems.push({
      area: "ca",
      severity: "info",
      message: `${s.variable}=${s.path} is ignored because ${selection.variable} is set`,
      next: `Unset ${s.variable} if it was meant for another tool, or point ${selection.variable} at the bundle you want.`
    })
  }
  const loaded = yield* Effect.result(loadSelectedCaBundle(selection))
  if (loaded._tag === "Failure") {
    problems.unshift({ area: "ca", severity: "error", message: loaded.failure.userMessage, next: loaded.failure.hint })
    const failed: CaDiagnosis = {
      status: "error",
      variable: selection.variable,
      path: selection.path,
      shadowed: selection.shadowed,
      certificateCount: 0,
      certificates: [],
      ignoredBlocks: [],
      ...common,
      error: loaded.failure.detail
    }
    return { diagnosis: failed, problems, bundle: undefined }
  }
  const bundle = loaded.success
  const now = Date.now()
  const certificates = bundle.certificates.map((c) => ({
    subject: c.subject,
    notAfter: c.notAfter,
    expired: Date.parse(c.notAfter) < now,
    isCa: c.isCa
  }))
  const expired = certificates.filter((c) => c.expired)
  if (expired.length > 0) {
    const all = expired.length === certificates.length
    const names = expired.slice(0, 2).map((c) => `${commonName(c.subject)} (${c.notAfter.slice(0, 10)})`).join(", ")
    problems.push({
      area: "ca",
      severity: all ? "error" : "info",
      message: `${all ? "Every certificate" : `${expired.length} of ${certificates.length} certificates`} in ${bundle.path} expired: ${names}${expired.length > 2 ? ", …" : ""}`,
      next: all
        ? `Get a current root certificate (from your IT department, for a corporate proxy) and update ${bundle.path}.`
        : "Harmless unless your proxy's root is one of them (`doctor --json` lists them all)."
    })
  }
  if (selection.variable === "SSL_CERT_FILE") {
    problems.push({
      area: "ca",
      severity: "info",
      message: `The CA bundle comes from SSL_CERT_FILE=${bundle.path}, a variable other tools set too`,
      next: "If sign-in fails with a certificate error, check that this file is the one you mean, or set CODEX_CA_CERTIFICATE."
    })
  }
  const ok: CaDiagnosis = {
    status: "ok",
    variable: bundle.variable,
    path: bundle.path,
    shadowed: bundle.shadowed,
    certificateCount: certificates.length,
    certificates,
    ignoredBlocks: bundle.ignoredBlocks,
    ...common,
    error: null
  }
  return { diagnosis: ok, problems, bundle }
})

/** Runs every check. Never fails; takes at most about `timeout` (the issuer request). */
export const diagnoseNetwork = Effect.fn("Diagnose.network")(function*(options: DiagnoseOptions = {}) {
  const env = options.env ?? process.env
  const issuerUrl = options.issuer ?? DEFAULT_ISSUER
  const problems: Array<Problem> = []

  const ca = yield* diagnoseCa(env)
  problems.push(...ca.problems)

  const proxySettings = readProxySettings(env)
  let proxy: ProxyDiagnosis
  if (proxySettings instanceof Error) {
    proxy = { status: "error", http: null, https: null, noProxy: null, issuerRoute: "unknown", error: proxySettings.userMessage }
    problems.push({ area: "proxy", severity: "error", message: proxySettings.userMessage, next: proxySettings.hint })
  } else {
    let route = "direct"
    try {
      route = proxyFor(proxySettings, issuerUrl)?.display ?? "direct"
    } catch {
      route = "unknown (invalid issuer URL)"
    }
    const entry = (e: { readonly variable: string; readonly display: string } | undefined) =>
      e === undefined ? null : { variable: e.variable, url: e.display }
    proxy = {
      status: proxySettings.http === undefined && proxySettings.https === undefined ? "none" : "ok",
      http: entry(proxySettings.http),
      https: entry(proxySettings.https),
      noProxy: proxySettings.noProxy ?? null,
      issuerRoute: route,
      error: null
    }
  }

  const [issuer, ports, session] = yield* Effect.all([
    // The settings a login would use, from what was just read (nothing when either is broken).
    checkIssuer(
      issuerUrl,
      ca.diagnosis.status === "error" || proxySettings instanceof Error ? undefined : { ca: ca.bundle, proxy: proxySettings },
      proxy,
      options
    ),
    Effect.promise(() => Promise.all((options.ports ?? LOGIN_PORTS).map((p) => probePort(p, options.portHost)))),
    Effect.promise(() => detectSession(env, options.procVersionPath))
  ], { concurrency: "unbounded" })
  problems.push(...issuer.problems)

  const busy = ports.filter((p) => p.status !== "free")
  if (busy.length > 0) {
    const all = busy.length === ports.length
    problems.push({
      area: "ports",
      severity: all ? "error" : "info",
      message: `${busy.map((p) => `${p.host}:${p.port} is ${p.status === "in-use" ? "in use" : p.status === "denied" ? "not allowed (EACCES)" : `unusable (${p.detail})`}`).join(", ")}`,
      next: all
        ? `Browser sign-in needs one of these ports: stop the program holding them (\`ss -ltnp 'sport = :${busy[0]?.port}'\`; often another login), or use \`codex-auth login --device-auth\`.`
        : "Browser sign-in will use the other port."
    })
  }
  if (session.ssh || session.headless) {
    problems.push({
      area: "session",
      severity: "info",
      message: session.ssh ? "This is an SSH session: a browser opened here would run on the remote machine" : "No display server (DISPLAY / WAYLAND_DISPLAY unset): no browser can be opened here",
      next: "Use `codex-auth login --device-auth`, or `codex-auth login --no-browser` with `ssh -L 1455:127.0.0.1:1455` to your machine."
    })
  }
  if (session.wsl) {
    problems.push({
      area: "session",
      severity: "info",
      message: "Running under WSL: the browser opens on Windows and reaches the callback through WSL's localhost forwarding",
      next: "If the browser cannot reach http://localhost:1455, use `codex-auth login --device-auth`."
    })
  }

  const order: Record<Severity, number> = { error: 0, warning: 1, info: 2 }
  const diagnosis: NetworkDiagnosis = {
    ca: ca.diagnosis,
    proxy,
    issuer: issuer.diagnosis,
    ports,
    session,
    problems: [...problems].sort((a, b) => order[a.severity] - order[b.severity])
  }
  return diagnosis
})

const checkIssuer = Effect.fnUntraced(function*(
  issuerUrl: string,
  settings: Tls.NetworkSettings | undefined,
  proxy: ProxyDiagnosis,
  options: DiagnoseOptions
) {
  const problems: Array<Problem> = []
  const base: IssuerDiagnosis = { url: issuerUrl, checked: false, reachable: false, status: null, latencyMs: null, error: null, clockSkewSeconds: null }
  if (options.offline === true) return { diagnosis: base, problems }
  if (settings === undefined) {
    return { diagnosis: { ...base, error: "not checked: fix the CA or proxy setting first" }, problems }
  }
  const started = Date.now()
  const attempt = yield* Effect.gen(function*() {
    const client = HttpClient.withScope(yield* HttpClient.HttpClient)
    const response = yield* client.head(issuerUrl)
    // A HEAD answer has no body; whatever a broken server sends anyway is read capped and dropped.
    yield* BoundedBody.discard(response)
    return { status: response.status, date: response.headers["date"] }
  }).pipe(
    Effect.scoped,
    Effect.provide(Tls.layerHttpClientFromSettings(settings)),
    Effect.timeoutOption(options.timeout ?? Duration.seconds(5)),
    Effect.result
  )
  const finished = Date.now()
  const target = Tls.redactUrl(issuerUrl)
  if (attempt._tag === "Failure") {
    const failure = Tls.describeNetworkFailure(attempt.failure, { ca: settings.ca })
    problems.push({
      area: "issuer",
      severity: "error",
      message: `Cannot reach the issuer ${target}${proxy.issuerRoute === "direct" ? "" : ` through ${proxy.issuerRoute}`}: ${failure.detail}`,
      next: failure.suggestion ?? "Check the network, the issuer URL and the proxy settings."
    })
    return { diagnosis: { ...base, checked: true, error: failure.detail }, problems }
  }
  if (Option.isNone(attempt.success)) {
    problems.push({
      area: "issuer",
      severity: "error",
      message: `The issuer ${target} did not answer within ${Duration.format(Duration.fromInputUnsafe(options.timeout ?? Duration.seconds(5)))}`,
      next: "Check the network and the proxy settings (HTTPS_PROXY, NO_PROXY)."
    })
    return { diagnosis: { ...base, checked: true, error: "timeout" }, problems }
  }
  const { status, date } = attempt.success.value
  const serverTime = date === undefined ? Number.NaN : Date.parse(date)
  const skew = Number.isNaN(serverTime) ? null : Math.round((serverTime - (started + finished) / 2) / 1000)
  const maxSkew = options.maxSkewSeconds ?? 120
  if (skew !== null && Math.abs(skew) > maxSkew) {
    problems.push({
      area: "clock",
      severity: "warning",
      message: `This machine's clock is ${Math.abs(skew)} s ${skew > 0 ? "behind" : "ahead of"} the issuer's`,
      next: "Sync the clock (for example `timedatectl set-ntp true`); token expiry checks depend on it."
    })
  }
  return {
    diagnosis: { ...base, checked: true, reachable: true, status, latencyMs: finished - started, clockSkewSeconds: skew },
    problems
  }
})


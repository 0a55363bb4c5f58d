/**
 * The one place codex-auth's network settings become an undici `Dispatcher`: Node's roots plus the
 * custom CA bundle (`CODEX_CA_CERTIFICATE` → `SSL_CERT_FILE`), and the env proxies
 * (`HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, either case) through undici's `EnvHttpProxyAgent`.
 *
 * The same trust store applies to direct connections, to the origin TLS session inside a proxy
 * CONNECT tunnel, and to `https://` proxies themselves. `layerHttpClient` gives the
 * `@effect/platform-node` undici `HttpClient` built on it, so every request (login, code exchange,
 * refresh, revoke, device polling) uses it; {@link webSocketOptions} / {@link openWebSocket} give
 * WebSockets the same dispatcher.
 *
 * @since 0.1.0
 */
import { Effect, Layer, Redacted, type Scope } from "effect"
import { NetworkError, type TlsConfigError } from "@codex-auth/core/Errors"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as tls from "node:tls"
import { buildConnector, EnvHttpProxyAgent, WebSocket, type Dispatcher } from "undici"
import { type CaBundle, type CaSelection, type Env, loadCaBundle, selectCaBundle, trustedRoots } from "./CaBundle.ts"
import { type ProxyEntry, ProxyConfigError, proxyFor, type ProxySettings, readProxySettings } from "./Proxy.ts"

/** What the environment asks for: the CA bundle (if any) and the proxies. */
export interface NetworkSettings {
  readonly ca: CaBundle | undefined
  readonly proxy: ProxySettings
}

/**
 * Reads and checks the CA bundle and proxy variables. Fails with `TlsConfigError` (naming the
 * variable and the path) or `ProxyConfigError` (naming the variable, credentials masked).
 */
export const loadNetworkSettings = Effect.fn("Tls.loadNetworkSettings")(function*(
  env: Env = process.env
): Effect.fn.Return<NetworkSettings, TlsConfigError | ProxyConfigError> {
  const ca = yield* loadCaBundle(env)
  const proxy = readProxySettings(env)
  if (proxy instanceof ProxyConfigError) return yield* proxy
  return { ca, proxy }
})

/** A plain, JSON-friendly summary of the settings: no PEM text, proxy credentials masked. */
export const describeNetworkSettings = (settings: NetworkSettings) => ({
  ca: settings.ca === undefined
    ? undefined
    : {
      variable: settings.ca.variable,
      path: settings.ca.path,
      certificateCount: settings.ca.certificates.length,
      subjects: settings.ca.certificates.map((c) => c.subject),
      shadowed: settings.ca.shadowed,
      ignoredBlocks: settings.ca.ignoredBlocks
    },
  /** Trusted roots after adding the bundle to Node's roots (deduplicated). */
  rootCount: trustedRoots(settings.ca).length,
  proxy: {
    http: settings.proxy.http === undefined ? undefined : { variable: settings.proxy.http.variable, url: settings.proxy.http.display },
    https: settings.proxy.https === undefined
      ? undefined
      : { variable: settings.proxy.https.variable, url: settings.proxy.https.display },
    noProxy: settings.proxy.noProxy
  }
})

const secureContexts = new WeakMap<NetworkSettings, tls.SecureContext>()

/**
 * A TLS secure context trusting Node's roots plus the bundle. Built once per settings object, so
 * the few hundred roots are not parsed again for every connection.
 */
export const secureContextFor = (settings: NetworkSettings): tls.SecureContext => {
  let context = secureContexts.get(settings)
  if (context === undefined) {
    context = tls.createSecureContext({ ca: [...trustedRoots(settings.ca)] })
    secureContexts.set(settings, context)
  }
  return context
}

/**
 * Options for `node:tls` / `node:https` / `ws` clients that do not go through undici (no proxy
 * support there): trust the same roots (Node's plus the bundle). A fresh array each call.
 */
export const nodeTlsOptions = (settings: NetworkSettings): { ca: Array<string> } => ({
  ca: [...trustedRoots(settings.ca)]
})

/**
 * The direct connection's connector (what undici builds from `connect: { secureContext }`), whose
 * secure context is made on the first `https:` connection: reading the operating system's roots
 * and parsing a few hundred certificates costs about 40 ms, which an `http://` issuer (a local
 * mock) never needs.
 */
const lazyTlsConnector = (settings: NetworkSettings): buildConnector.connector => {
  let plain: buildConnector.connector | undefined
  let secure: buildConnector.connector | undefined
  return (options, callback) => {
    const connect = options.protocol === "https:"
      ? (secure ??= buildConnector({ secureContext: secureContextFor(settings) }))
      : (plain ??= buildConnector({}))
    connect(options, callback)
  }
}

/**
 * Builds the undici dispatcher: an `EnvHttpProxyAgent` whose proxy variables come from `settings`
 * (never re-read from `process.env`), with the custom trust store on the direct connection, the
 * tunnelled origin connection and an `https://` proxy connection alike. Not scoped: close it.
 * Without a proxy, the trust store is built on the first `https:` connection.
 */
export const makeDispatcherUnsafe = (settings: NetworkSettings): Dispatcher => {
  const proxied = settings.proxy.http !== undefined || settings.proxy.https !== undefined
  // undici copies the proxy agents' TLS options when it builds them: with a proxy, build it now.
  const proxyTls = proxied ? { requestTls: { secureContext: secureContextFor(settings) }, proxyTls: { secureContext: secureContextFor(settings) } } : {}
  const agent = new EnvHttpProxyAgent({
    // An empty string (not undefined) stops undici from falling back to process.env.
    httpProxy: settings.proxy.http === undefined ? "" : Redacted.value(settings.proxy.http.url),
    httpsProxy: settings.proxy.https === undefined ? "" : Redacted.value(settings.proxy.https.url),
    noProxy: settings.proxy.noProxy?.value ?? "",
    connect: lazyTlsConnector(settings),
    ...proxyTls
  })
  return recordingProxy(agent, settings.proxy)
}

/** The dispatcher as a scoped resource (closed with the scope). */
export const makeDispatcher = (settings: NetworkSettings): Effect.Effect<Dispatcher, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => makeDispatcherUnsafe(settings)),
    (dispatcher) => Effect.promise(() => dispatcher.close()).pipe(Effect.ignore)
  )

/** `NodeHttpClient.Dispatcher` from the given environment. */
export const layerDispatcherWith = (env: Env): Layer.Layer<NodeHttpClient.Dispatcher, TlsConfigError | ProxyConfigError> =>
  Layer.effect(NodeHttpClient.Dispatcher, Effect.flatMap(loadNetworkSettings(env), makeDispatcher))

/** `NodeHttpClient.Dispatcher` from `process.env`. */
export const layerDispatcher: Layer.Layer<NodeHttpClient.Dispatcher, TlsConfigError | ProxyConfigError> = Layer.suspend(
  () => layerDispatcherWith(process.env)
)

/** The undici `HttpClient` (and its `Dispatcher`) for already loaded settings. */
export const layerHttpClientFromSettings = (settings: NetworkSettings) =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(
    Layer.provideMerge(Layer.effect(NodeHttpClient.Dispatcher, makeDispatcher(settings)))
  )

/** The undici `HttpClient` over {@link layerDispatcherWith}, plus the dispatcher itself (for WebSockets). */
export const layerHttpClientWith = (env: Env) =>
  NodeHttpClient.layerUndiciNoDispatcher.pipe(Layer.provideMerge(layerDispatcherWith(env)))

/**
 * The `HttpClient` every codex-auth program should use, configured from `process.env`; also
 * provides `NodeHttpClient.Dispatcher`.
 */
export const layerHttpClient = Layer.suspend(() => layerHttpClientWith(process.env))

/** Options for undici's `WebSocket` so it uses the same dispatcher (CA bundle and proxy). */
export const webSocketOptions = (
  dispatcher: Dispatcher,
  options: { readonly protocols?: string | Array<string>; readonly headers?: Record<string, string> } = {}
): ConstructorParameters<typeof WebSocket>[1] => ({
  dispatcher,
  ...(options.protocols === undefined ? {} : { protocols: options.protocols }),
  ...(options.headers === undefined ? {} : { headers: options.headers })
})

/** Options of {@link openWebSocket}. */
export interface OpenWebSocketOptions {
  readonly protocols?: string | Array<string>
  readonly headers?: Record<string, string>
  /** The CA selection to explain failures with (default: the one `process.env` makes). */
  readonly ca?: CaSelection | undefined
}

/**
 * Wraps a dispatcher so that the last transport error of a request is kept: undici's `WebSocket`
 * reports only "Received network error", dropping the TLS error code needed for a useful hint.
 */
const capturingErrors = (dispatcher: Dispatcher) => {
  const captured: { error: unknown } = { error: undefined }
  const wrapped = dispatcher.compose((dispatch) => (opts, handler) => {
    const record = (error: unknown) => {
      captured.error = error
    }
    const proxy = new Proxy(handler, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver)
        if ((property === "onResponseError" || property === "onError") && typeof value === "function") {
          return (...args: Array<unknown>) => {
            record(args[args.length - 1])
            return (value as (...a: Array<unknown>) => unknown).apply(target, args)
          }
        }
        return value
      }
    })
    return dispatch(opts, proxy)
  })
  return { wrapped, captured }
}

/**
 * Opens an undici `WebSocket` through the `NodeHttpClient.Dispatcher` in context and waits for it
 * to open; it is closed when the scope closes. A failure to connect becomes a `NetworkError` whose
 * hint names `CODEX_CA_CERTIFICATE` when the certificate was not trusted.
 */
export const openWebSocket = Effect.fn("Tls.openWebSocket")(function*(
  url: string,
  options: OpenWebSocketOptions = {}
): Effect.fn.Return<WebSocket, NetworkError, NodeHttpClient.Dispatcher | Scope.Scope> {
  const dispatcher = yield* NodeHttpClient.Dispatcher
  const target = `WebSocket ${redactUrl(url)}`
  const explain = "ca" in options ? { ca: options.ca } : {}
  const { wrapped, captured } = capturingErrors(dispatcher)
  return yield* Effect.acquireRelease(
    Effect.callback<WebSocket, NetworkError>((resume) => {
      let socket: WebSocket
      try {
        socket = new WebSocket(url, webSocketOptions(wrapped, options))
      } catch (cause) {
        resume(Effect.fail(toNetworkError(target, cause, explain)))
        return
      }
      const onOpen = () => {
        socket.removeEventListener("error", onError)
        resume(Effect.succeed(socket))
      }
      const onError = (event: Event) => {
        socket.removeEventListener("open", onOpen)
        const reported = (event as Event & { error?: unknown }).error ?? event
        resume(Effect.fail(toNetworkError(target, captured.error ?? reported, explain)))
      }
      socket.addEventListener("open", onOpen, { once: true })
      socket.addEventListener("error", onError, { once: true })
      return Effect.sync(() => socket.close())
    }),
    (socket) => Effect.sync(() => socket.close())
  )
})

const CERT_UNTRUSTED_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE"
])
const CERT_OTHER_CODES = new Set([
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_REVOKED",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "EPROTO"
])

/** What went wrong on the wire, for a person: the low-level code, a sentence, and a next step. */
export interface NetworkFailure {
  readonly code: string | undefined
  readonly detail: string
  readonly suggestion: string | undefined
  /**
   * Retrying cannot help: the certificate is untrusted, expired or for another host, or the proxy
   * wants credentials. Flows that retry transient errors should stop at once on these.
   */
  readonly permanent: boolean
}

/** Walks `cause`, `reason`, `error` and `errors` links of an error graph (bounded). */
const collectErrors = (root: unknown): Array<Record<string, unknown>> => {
  const out: Array<Record<string, unknown>> = []
  const seen = new Set<unknown>()
  const queue: Array<unknown> = [root]
  while (queue.length > 0 && out.length < 32) {
    const next = queue.shift()
    if (typeof next !== "object" || next === null || seen.has(next)) continue
    seen.add(next)
    const record = next as Record<string, unknown>
    out.push(record)
    for (const key of ["reason", "cause", "error"]) queue.push(record[key])
    if (Array.isArray(record.errors)) queue.push(...(record.errors as Array<unknown>))
  }
  return out
}

/** Codes of a connection that could not be opened at all. */
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])
/** Codes of a connection the other side dropped. */
const DROPPED_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"])

/** Options of {@link describeNetworkFailure} and {@link toNetworkError}. */
export interface ExplainOptions {
  /** The current CA selection (`undefined`: none); when the key is absent, the one `process.env` makes. */
  readonly ca?: CaSelection | undefined
}

/** Errors of requests that went through a proxy, with that proxy (set by {@link makeDispatcherUnsafe}). */
const viaProxy = new WeakMap<object, ProxyEntry>()

/** The proxy a failed request went through, when the dispatcher recorded one. */
export const proxyOfFailure = (cause: unknown): ProxyEntry | undefined => {
  for (const e of collectErrors(cause)) {
    const entry = viaProxy.get(e)
    if (entry !== undefined) return entry
  }
  return undefined
}

/**
 * Wraps a dispatcher so that a transport error of a request sent through a proxy remembers that
 * proxy: undici reports a dead proxy as a bare `connect ECONNREFUSED host:port`.
 */
const recordingProxy = (dispatcher: Dispatcher, settings: ProxySettings): Dispatcher => {
  if (settings.http === undefined && settings.https === undefined) return dispatcher
  return dispatcher.compose((dispatch) => (opts, handler) => {
    let entry: ProxyEntry | undefined
    try {
      entry = opts.origin === undefined ? undefined : proxyFor(settings, new URL(String(opts.origin)))
    } catch {
      entry = undefined
    }
    if (entry === undefined) return dispatch(opts, handler)
    const proxied = entry
    return dispatch(
      opts,
      new Proxy(handler, {
        get(target, property, receiver) {
          const value: unknown = Reflect.get(target, property, receiver)
          if ((property === "onResponseError" || property === "onError") && typeof value === "function") {
            return (...args: Array<unknown>) => {
              const error = args[args.length - 1]
              if (typeof error === "object" && error !== null) viaProxy.set(error, proxied)
              return (value as (...a: Array<unknown>) => unknown).apply(target, args)
            }
          }
          return value
        }
      })
    )
  })
}

/**
 * Explains a failed request or WebSocket: an untrusted certificate gets the `CODEX_CA_CERTIFICATE`
 * advice (or, when a bundle is already selected, advice about that bundle); a connection that
 * could not be opened through a proxy names that proxy (credentials masked) and its variable; a
 * connection reset or closed by the other side says so. Every explanation has a next step.
 */
export const describeNetworkFailure = (cause: unknown, options: ExplainOptions = {}): NetworkFailure => {
  const ca = "ca" in options ? options.ca : selectCaBundle(process.env)
  const chain = collectErrors(cause)
  const codes = chain.map((e) => (typeof e.code === "string" ? e.code : undefined)).filter((c) => c !== undefined)
  const messages = chain.map((e) => (typeof e.message === "string" ? e.message : "")).filter((m) => m !== "")
  const untrusted = codes.find((c) => CERT_UNTRUSTED_CODES.has(c))
  const bundleText = ca === undefined ? "" : `the CA bundle ${ca.path} (selected by ${ca.variable}) plus `
  if (untrusted !== undefined) {
    return {
      code: untrusted,
      detail: `the server's TLS certificate is not trusted (${untrusted}); trusted roots are ${bundleText}the system and Node roots`,
      permanent: true,
      suggestion: ca === undefined
        ? "If a corporate proxy or gateway inspects TLS, export its root certificate as PEM and set CODEX_CA_CERTIFICATE=/path/to/root-ca.pem (SSL_CERT_FILE works too). `codex-auth doctor` shows what is in effect."
        : `Check that ${ca.path} (from ${ca.variable}) holds the root that signed this server's certificate, or point CODEX_CA_CERTIFICATE at the right PEM file. \`codex-auth doctor\` lists the certificates it holds.`
    }
  }
  const other = codes.find((c) => CERT_OTHER_CODES.has(c))
  if (other !== undefined) {
    const what = other === "CERT_HAS_EXPIRED"
      ? "the server's TLS certificate has expired (or this machine's clock is wrong)"
      : other === "CERT_NOT_YET_VALID"
      ? "the server's TLS certificate is not valid yet (is this machine's clock wrong?)"
      : other === "ERR_TLS_CERT_ALTNAME_INVALID"
      ? "the server's TLS certificate does not name this host"
      : `the TLS handshake failed (${other})`
    return {
      code: other,
      detail: what,
      permanent: other !== "EPROTO" && other !== "ERR_SSL_WRONG_VERSION_NUMBER",
      suggestion: "Run `codex-auth doctor` to check the clock, the CA bundle and the proxy in effect."
    }
  }
  const proxy = proxyOfFailure(cause)
  const proxyName = proxy === undefined ? undefined : `${proxy.display} (from ${proxy.variable})`
  const proxyMessage = messages.find((m) => /proxy/i.test(m))
  if (proxyMessage !== undefined) {
    const status = proxyMessage.match(/\((\d{3})\)/)?.[1]
    return {
      code: codes[0] ?? "PROXY",
      detail: `the proxy${proxyName === undefined ? "" : ` ${proxyName}`} refused the connection: ${proxyMessage}`,
      permanent: status === "407",
      suggestion: status === "407"
        ? "The proxy wants credentials: put them in HTTPS_PROXY as http://user:password@host:port, or ask for an exception in NO_PROXY."
        : "Check HTTPS_PROXY / HTTP_PROXY / NO_PROXY (`codex-auth doctor` shows which proxy is in effect)."
    }
  }
  const code = codes.find((c) => /^E[A-Z]+$/.test(c)) ?? codes.find((c) => DROPPED_CODES.has(c) || CONNECT_CODES.has(c)) ?? codes[0]
  const message = messages.find((m) => m !== "fetch failed" && !/^Transport error/.test(m) && !/^Decode error/.test(m)) ?? messages[0] ??
    String(cause)
  const raw = code === undefined || message.includes(code) ? message : `${message} (${code})`
  if (code !== undefined && CONNECT_CODES.has(code) && proxy !== undefined) {
    return {
      code,
      detail: `the proxy ${proxyName} cannot be reached: ${raw}`,
      permanent: false,
      suggestion: `Check that the proxy at ${proxy.display} is running and reachable, or fix or unset ${proxy.variable} (NO_PROXY lists hosts reached directly); \`codex-auth doctor\` shows the proxy in effect. Then try again.`
    }
  }
  if (code !== undefined && DROPPED_CODES.has(code)) {
    const midAnswer = chain.some((e) => e._tag === "DecodeError")
    const how = code === "ECONNRESET" ? "reset" : "closed"
    return {
      code,
      detail: `the connection was ${how} by the other side ${midAnswer ? "in the middle of the answer" : "before an answer came"}${
        proxyName === undefined ? "" : ` (through the proxy ${proxyName})`
      } (${code === "UND_ERR_SOCKET" ? message : code})`,
      permanent: false,
      suggestion: `The issuer${proxy === undefined ? "" : " or the proxy"} dropped the connection: check that it is reachable (\`codex-auth doctor\`), then try again.`
    }
  }
  return {
    code,
    detail: raw,
    permanent: false,
    suggestion: code !== undefined && CONNECT_CODES.has(code)
      ? "Check the network and any proxy settings (`codex-auth doctor`), then try again."
      : "Check that the issuer and any proxy are reachable (`codex-auth doctor`), then try again."
  }
}

/** Whether retrying `cause` is pointless (see {@link NetworkFailure.permanent}). */
export const isPermanentNetworkFailure = (cause: unknown): boolean => describeNetworkFailure(cause, { ca: undefined }).permanent

/**
 * A core `NetworkError` for `target` (no secrets in it: pass a URL without query, e.g.
 * `POST https://host/path`), explained. Options as in {@link describeNetworkFailure}.
 */
export const toNetworkError = (target: string, cause: unknown, options: ExplainOptions = {}): NetworkError => {
  const failure = describeNetworkFailure(cause, options)
  return new NetworkError({
    target,
    detail: failure.detail,
    ...(failure.suggestion === undefined ? {} : { suggestion: failure.suggestion }),
    ...(failure.permanent ? { permanent: true } : {})
  })
}

/** Drops user-info, query and fragment from a URL for messages. */
export const redactUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "<invalid URL>"
  }
}

/**
 * HTTP(S) proxy settings from the environment, read the way undici's `EnvHttpProxyAgent` reads
 * them: `https_proxy` / `HTTPS_PROXY` for `https:` requests (falling back to the HTTP proxy when
 * unset), `http_proxy` / `HTTP_PROXY` for `http:` requests, `no_proxy` / `NO_PROXY` for
 * exceptions. The lower-case spelling wins when both are set; an empty value counts as unset.
 *
 * Proxy URLs may carry `user:password@`: the URL is kept as `Redacted`, and only
 * {@link maskProxyUrl}'s form (`http://***@proxy:3128/`) is ever shown.
 *
 * @since 0.1.0
 */
import { Data, Redacted } from "effect"
import type { UserFacing } from "@codex-auth/core/Errors"
import { ExitCode } from "@codex-auth/core/ExitCode"
import type { Env } from "./CaBundle.ts"

/** A proxy URL with the variable that set it. */
export interface ProxyEntry {
  readonly variable: string
  /** The normalized URL, credentials included: pass it to undici, never print it. */
  readonly url: Redacted.Redacted<string>
  /** The same URL with any credentials replaced by `***`. */
  readonly display: string
}

/** Which proxy each scheme goes through, and the exceptions. */
export interface ProxySettings {
  /** Proxy for `http:` URLs. */
  readonly http: ProxyEntry | undefined
  /** Proxy for `https:` URLs (the HTTP proxy when no HTTPS proxy variable is set). */
  readonly https: ProxyEntry | undefined
  readonly noProxy: { readonly variable: string; readonly value: string } | undefined
}

/** A proxy variable holds something undici cannot use. */
export class ProxyConfigError extends Data.TaggedError("ProxyConfigError")<{
  readonly variable: string
  /** Already masked: never contains credentials. */
  readonly value: string
  readonly detail: string
}> implements UserFacing {
  get userMessage() {
    return `The proxy setting ${this.variable}=${this.value} cannot be used: ${this.detail}`
  }
  get hint() {
    return `Set ${this.variable} to a URL such as http://proxy.example.com:3128 (http or https scheme), or unset it. Run \`codex-auth doctor\` for details.`
  }
  readonly exitCode = ExitCode.Network
  override get message() {
    return this.userMessage
  }
}

/** Replaces the user-info part of a URL-ish string with `***`. Works on unparsable input too. */
export const maskProxyUrl = (value: string): string => {
  const regexMask = () =>
    value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/@\s]*@/i, (_m, scheme: string | undefined) => `${scheme ?? ""}***@`)
  // `user:pw@host:port` would parse as a URL with the scheme `user:`.
  if (!value.includes("://")) return regexMask()
  try {
    const url = new URL(value)
    if (url.username === "" && url.password === "") return url.href
    url.username = "***"
    url.password = ""
    return url.href
  } catch {
    return regexMask()
  }
}

const firstSet = (env: Env, names: ReadonlyArray<string>) => {
  for (const variable of names) {
    const value = env[variable]
    if (value !== undefined && value.trim() !== "") return { variable, value: value.trim() }
  }
  return undefined
}

const parseProxy = (variable: string, raw: string): ProxyEntry | ProxyConfigError => {
  // `proxy:3128` and `user:pw@proxy:3128` are common; curl and undici's peers read them as http.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`
  const masked = maskProxyUrl(withScheme)
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return new ProxyConfigError({ variable, value: maskProxyUrl(raw), detail: "it is not a valid URL" })
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return new ProxyConfigError({
      variable,
      value: masked,
      detail: `the ${url.protocol.slice(0, -1)} scheme is not supported (only http:// and https:// proxies)`
    })
  }
  if (url.hostname === "") {
    return new ProxyConfigError({ variable, value: masked, detail: "it names no host" })
  }
  return { variable, url: Redacted.make(url.href), display: masked }
}

/** Reads the proxy variables. Fails (returns the error) on a malformed proxy URL. */
export const readProxySettings = (env: Env = process.env): ProxySettings | ProxyConfigError => {
  const httpRaw = firstSet(env, ["http_proxy", "HTTP_PROXY"])
  const httpsRaw = firstSet(env, ["https_proxy", "HTTPS_PROXY"])
  const noProxy = firstSet(env, ["no_proxy", "NO_PROXY"])
  const http = httpRaw === undefined ? undefined : parseProxy(httpRaw.variable, httpRaw.value)
  if (http instanceof ProxyConfigError) return http
  const httpsOwn = httpsRaw === undefined ? undefined : parseProxy(httpsRaw.variable, httpsRaw.value)
  if (httpsOwn instanceof ProxyConfigError) return httpsOwn
  return { http, https: httpsOwn ?? http, noProxy }
}

/**
 * Whether a URL would bypass the proxy under `NO_PROXY`, with undici's matching rules (exact
 * host, domain suffix with or without a leading dot or `*.`, optional `:port`, `*` for all).
 * For display only; the dispatcher itself lets undici decide.
 */
export const bypassesProxy = (settings: ProxySettings, target: string | URL): boolean => {
  const url = typeof target === "string" ? new URL(target) : target
  const value = settings.noProxy?.value ?? ""
  const host = url.hostname.replace(/^\[(.+)\]$/, "$1").replace(/\.$/, "").toLowerCase()
  const port = Number.parseInt(url.port, 10) || (url.protocol === "https:" ? 443 : url.protocol === "http:" ? 80 : 0)
  for (const rawEntry of value.split(/[,\s]/)) {
    if (rawEntry === "") continue
    const v6 = rawEntry.match(/^\[(.+)\]:(\d+)$/)
    const unbracketed = rawEntry.replace(/^\[(.+)\]$/, "$1")
    const hp = v6 === null && (unbracketed.match(/:/g) ?? []).length === 1 ? unbracketed.match(/^(.+):(\d+)$/) : null
    const entryHost = (v6?.[1] ?? hp?.[1] ?? unbracketed).replace(/^\*?\./, "").replace(/^(.+)\.$/, "$1").toLowerCase()
    const entryPort = Number.parseInt(v6?.[2] ?? hp?.[2] ?? "0", 10)
    const wildcard = rawEntry.startsWith("*")
    if (entryPort !== 0 && entryPort !== port) continue
    if (entryHost === "*") return true
    if (!wildcard && host === entryHost) return true
    if (host.endsWith(`.${entryHost}`)) return true
  }
  return false
}

/** The proxy a request to `target` would use, or `undefined` for a direct connection. */
export const proxyFor = (settings: ProxySettings, target: string | URL): ProxyEntry | undefined => {
  const url = typeof target === "string" ? new URL(target) : target
  if (bypassesProxy(settings, url)) return undefined
  return url.protocol === "https:" || url.protocol === "wss:" ? settings.https : settings.http
}

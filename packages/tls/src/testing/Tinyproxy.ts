/**
 * Test support: runs a real Debian `tinyproxy` (installed by `scripts/system-deps.sh`) in the
 * foreground on an ephemeral loopback port, with its own config file and log, so tests can prove
 * that requests went through a real HTTP/CONNECT proxy. Not used by the library itself.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface TinyproxyOptions {
  /** Ports CONNECT may reach (tinyproxy allows every port when none is listed). */
  readonly connectPorts?: ReadonlyArray<number>
  /** Require `Proxy-Authorization: Basic` with these credentials. */
  readonly basicAuth?: { readonly user: string; readonly password: string }
  /** Default `$TINYPROXY_PATH` or `/usr/bin/tinyproxy`. */
  readonly binary?: string
}

export interface Tinyproxy {
  readonly port: number
  /** `http://127.0.0.1:PORT` (no credentials). */
  readonly url: string
  /** The proxy's log so far. */
  readonly log: () => string
  /** Request lines the proxy handled, e.g. `CONNECT 127.0.0.1:4433 HTTP/1.1` or `GET http://… HTTP/1.1`. */
  readonly requests: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Starts tinyproxy and waits until it accepts connections (retries on a port race). */
export const startTinyproxy = async (options: TinyproxyOptions = {}): Promise<Tinyproxy> => {
  const binary = options.binary ?? process.env.TINYPROXY_PATH ?? "/usr/bin/tinyproxy"
  if (!existsSync(binary)) {
    throw new Error(`tinyproxy not found at ${binary}: run scripts/system-deps.sh as root (Debian package tinyproxy)`)
  }
  let lastError = ""
  for (let attempt = 0; attempt < 5; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "codex-auth-tinyproxy-"))
    const logFile = join(dir, "tinyproxy.log")
    const port = await freePort()
    const config = [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Timeout 30",
      `LogFile "${logFile}"`,
      "LogLevel Info",
      "MaxClients 50",
      "Allow 127.0.0.1",
      "DisableViaHeader Yes",
      ...(options.connectPorts ?? []).map((p) => `ConnectPort ${p}`),
      ...(options.basicAuth === undefined ? [] : [`BasicAuth ${options.basicAuth.user} ${options.basicAuth.password}`])
    ].join("\n")
    const configFile = join(dir, "tinyproxy.conf")
    writeFileSync(configFile, `${config}\n`)
    const child: ChildProcess = spawn(binary, ["-d", "-c", configFile], { stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
    let exited = false
    child.once("exit", () => (exited = true))
    const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "")
    const close = async () => {
      if (!exited) {
        const done = new Promise<void>((resolve) => child.once("exit", () => resolve()))
        child.kill("SIGTERM")
        await Promise.race([done, sleep(2000).then(() => void child.kill("SIGKILL"))])
      }
      rmSync(dir, { recursive: true, force: true })
    }
    const deadline = Date.now() + 5000
    while (Date.now() < deadline && !exited && !/Accepting connections/.test(log())) await sleep(20)
    if (!exited && /Accepting connections/.test(log())) {
      return {
        port,
        url: `http://127.0.0.1:${port}`,
        log,
        requests: () => [...log().matchAll(/Request \(file descriptor \d+\): (.+)$/gm)].map((m) => m[1] ?? ""),
        close
      }
    }
    lastError = `${stderr}\n${log()}`.trim()
    await close()
  }
  throw new Error(`tinyproxy did not start: ${lastError}`)
}

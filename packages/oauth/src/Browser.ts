/**
 * Opens the system browser on a URL, best-effort: `$BROWSER` if set, `open` on macOS,
 * `rundll32` on Windows, `wslview` or PowerShell on WSL, `xdg-open` elsewhere. The URL is always
 * printed as well, so failing to open one never blocks a sign-in. On a Linux machine with no
 * display (an SSH session, a container) nothing is launched.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as Diagnose from "@codex-auth/tls/Diagnose"

type Env = Readonly<Record<string, string | undefined>>

/** Linux under WSL (the same test `doctor` reports). */
export const isWsl = (env: Env = process.env): boolean => Diagnose.isWsl(env)

/** True when this session likely cannot show a browser window (headless Linux, SSH without X forwarding). */
export const isHeadless = (env: Env = process.env): boolean =>
  process.platform === "linux" && !isWsl(env) && !env["DISPLAY"] && !env["WAYLAND_DISPLAY"]

/** The command that would open `url`, or `undefined` when there is none to try. */
export const browserCommand = (url: string, env: Env = process.env): readonly [string, ReadonlyArray<string>] | undefined => {
  const custom = env["BROWSER"]?.trim()
  if (custom !== undefined && custom.length > 0) {
    const [program, ...args] = custom.split(/\s+/)
    return [program!, [...args.map((a) => a.replace("%s", url)), ...(args.some((a) => a.includes("%s")) ? [] : [url])]]
  }
  switch (process.platform) {
    case "darwin":
      return ["open", [url]]
    case "win32":
      return ["rundll32", ["url.dll,FileProtocolHandler", url]]
    default:
      if (isWsl(env)) return ["wslview", [url]]
      return isHeadless(env) ? undefined : ["xdg-open", [url]]
  }
}

const tryCommand = (program: string, args: ReadonlyArray<string>): Promise<boolean> =>
  new Promise((resolve) => {
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      resolve(ok)
    }
    try {
      const child = spawn(program, [...args], { stdio: "ignore", detached: true })
      child.once("error", () => finish(false))
      child.once("exit", (code) => finish(code === 0))
      // Still running after a while: it is the browser itself (or a launcher that stays); fine.
      setTimeout(() => finish(true), 2000).unref()
      child.unref()
    } catch {
      finish(false)
    }
  })

/** Opens `url`; `true` when a launcher accepted it. Never fails. */
export const open = (url: string, env: Env = process.env): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const command = browserCommand(url, env)
    if (command === undefined) return false
    if (await tryCommand(command[0], command[1])) return true
    if (isWsl(env)) {
      return tryCommand("powershell.exe", ["-NoProfile", "-Command", "Start-Process", `'${url.replace(/'/g, "''")}'`])
    }
    return false
  })

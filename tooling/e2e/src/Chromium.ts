/**
 * Headless Chromium (the Debian package, `CHROMIUM_PATH` or /usr/bin/chromium) driven by
 * playwright-core, with a fresh user-data-dir per run, and screenshots kept as test artifacts
 * under `<repo>/test-artifacts/` (git-ignored).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium, type Page } from "playwright-core"
import { repoRoot } from "./Cli.ts"

export const CHROMIUM_ARGS: ReadonlyArray<string> = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export const artifactsDir = join(repoRoot, "test-artifacts")

/** Runs `f` with a page of a fresh headless Chromium; always closes the browser and its profile. */
export const withChromium = async <A>(f: (page: Page) => Promise<A>): Promise<A> => {
  const userDataDir = mkdtempSync(join(tmpdir(), "codex-auth-chromium-"))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium",
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 900, height: 900 }
  })
  try {
    const page = context.pages()[0] ?? (await context.newPage())
    page.setDefaultTimeout(15_000)
    return await f(page)
  } finally {
    await context.close()
    rmSync(userDataDir, { recursive: true, force: true })
  }
}

/** Saves a full-page PNG as `<repo>/test-artifacts/<name>.png` and returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(artifactsDir, { recursive: true })
  const path = join(artifactsDir, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

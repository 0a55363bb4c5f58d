import { basename } from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// CODEX_AUTH_TEST_REPORT_DIR: where scripts/test.sh collects one JSON report per package for its summary line.
const reportDir = process.env["CODEX_AUTH_TEST_REPORT_DIR"]
const reportName = `${basename(process.cwd())}${process.env["CODEX_AUTH_TEST_REPORT_SUFFIX"] ?? ""}.json`

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // A private TMPDIR per run, removed at the end (see tmpdir.global.ts).
    globalSetup: [fileURLToPath(new URL("./tmpdir.global.ts", import.meta.url))],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: reportDir ? ["default", ["json", { outputFile: `${reportDir}/${reportName}` }]] : ["default"]
  }
})

import { defineConfig, mergeConfig } from "vitest/config"
import shared from "@codex-auth/vitest-config"

export default mergeConfig(shared, defineConfig({}))

/**
 * The `codex-auth-harness` commands, for tests that drive them in-process.
 *
 * @since 0.1.0
 */
export { checkConfig, root, serve } from "./Commands.ts"

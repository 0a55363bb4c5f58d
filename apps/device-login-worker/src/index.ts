/**
 * The device-login worker as a library: its protocol types (for TypeScript consumers that spawn
 * the worker and parse its stdout), argument parsing, and the program itself.
 *
 * @since 0.1.0
 */
export * as Args from "./Args.ts"
export * as Protocol from "./Protocol.ts"
export * as Worker from "./Worker.ts"

export * as CodexHome from "./CodexHome.ts"
export * as FileLock from "./FileLock.ts"
export * as FileStore from "./FileStore.ts"
export * as MemoryStore from "./MemoryStore.ts"

/**
 * Loaded into an API server process (`node --expose-gc --import <this file> main.js`, with an IPC
 * channel): answers the parent's `"memory"` with the process's memory after a full collection.
 */
process.channel?.unref();
process.on("message", (message) => {
  if (message !== "memory") return;
  globalThis.gc?.();
  globalThis.gc?.();
  process.send?.(process.memoryUsage());
});

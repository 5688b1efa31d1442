// @ts-check
// Loads Prisma's schema engine compiled to WebAssembly, and turns its Rust panics into errors.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * @typedef {typeof import("@prisma/schema-engine-wasm/schema_engine_bg")} WasmGlue
 * @typedef {Record<string, unknown>} WasmExports
 * @typedef {Record<string, Record<string, unknown>>} WasmImports
 */

/**
 * @typedef {{ instantiate(bytes: Uint8Array, imports: WasmImports): Promise<{ instance: { exports: WasmExports } }> }} WebAssemblyApi
 */

/**
 * The WebAssembly API, which the TypeScript libs of this project (ES2023, no DOM) do not declare;
 * typed through `unknown` so that projects that do declare it (the web app's DOM lib) agree.
 */
const WebAssemblyApi = /** @type {WebAssemblyApi} */ (
  /** @type {unknown} */ (Reflect.get(globalThis, "WebAssembly"))
);

/** The wasm-bindgen glue module, as the `.wasm` file names its imports. */
const GLUE_MODULE = "./schema_engine_bg.js";

/** A Rust panic inside the engine. The WebAssembly instance is unusable afterwards. */
export class WasmPanic extends Error {
  /** @override */
  name = "WasmPanic";
}

/** @type {WasmPanic | undefined} */
let panic;
/** @type {(panic: WasmPanic) => void} */
let rejectPanicked = () => {};
/** Rejects once the engine panics, ending every call still waiting on it. */
const panicked = new Promise((_, reject) => {
  rejectPanicked = reject;
});
panicked.catch(() => {}); // only meaningful while a call races it

/** @type {string | undefined} */
let panicMessage;
const panicRegistryHost =
  /** @type {{ PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } }} */ (
    globalThis
  );

/** @type {Promise<WasmGlue> | undefined} */
let loading;

/**
 * Instantiates the engine once per process. A plain `import` of the package fails on Node 20
 * (it imports the `.wasm` file as an ES module), so the bytes are instantiated by hand.
 */
export function loadSchemaEngineWasm() {
  loading ??= instantiate();
  return loading;
}

async function instantiate() {
  // The Rust panic hook reports its message here; Prisma Client may have installed its own.
  panicRegistryHost.PRISMA_WASM_PANIC_REGISTRY ??= {
    set_message: (message) => {
      panicMessage = message;
    },
  };
  const glue = await import("@prisma/schema-engine-wasm/schema_engine_bg");
  const glueFile = createRequire(import.meta.url).resolve(
    "@prisma/schema-engine-wasm/schema_engine_bg",
  );
  const bytes = await readFile(join(dirname(glueFile), "schema_engine_bg.wasm"));
  const imports = { [GLUE_MODULE]: withUnrefTimers(glue) };
  const { instance } = await WebAssemblyApi.instantiate(bytes, imports);
  const exports = guardExports(instance.exports);
  glue.__wbg_set_wasm(exports);
  /** @type {() => void} */ (exports.__wbindgen_start)();
  return glue;
}

/**
 * The engine arms a timer with every advisory lock it takes (10 s) and never clears it: those
 * timers must not keep the process alive once the work is done.
 * @param {WasmGlue} glue
 * @returns {Record<string, unknown>}
 */
function withUnrefTimers(glue) {
  return Object.fromEntries(
    Object.entries(glue).map(([name, value]) => [
      name,
      name.startsWith("__wbg_setTimeout_") ? unrefTimer(/** @type {Function} */ (value)) : value,
    ]),
  );
}

/** @param {Function} setTimer */
function unrefTimer(setTimer) {
  /** @param {unknown[]} args */
  return (...args) => {
    const timer = /** @type {NodeJS.Timeout} */ (setTimer(...args));
    timer.unref();
    return timer;
  };
}

/**
 * A panic aborts the WebAssembly call with a trap (or with whatever the panic registry throws).
 * That usually happens in a microtask polling an engine future, where nothing could catch it
 * and the pending call would never settle. wasm-bindgen otherwise never lets an exception
 * cross an export, so every one that does is a panic: record it and fail the pending calls.
 * @param {WasmExports} exports
 * @returns {WasmExports}
 */
function guardExports(exports) {
  return Object.fromEntries(
    Object.entries(exports).map(([name, value]) => [
      name,
      typeof value === "function" ? guardExport(value) : value,
    ]),
  );
}

/** @param {Function} fn */
function guardExport(fn) {
  /** @param {unknown[]} args */
  return (...args) => {
    try {
      return fn(...args);
    } catch (error) {
      panic ??= new WasmPanic(
        panicMessage ?? String(error instanceof Error ? error.message : error),
      );
      rejectPanicked(panic);
    }
  };
}

/**
 * Runs one engine call, failing with a WasmPanic if the engine panics before it settles.
 * @template T
 * @param {() => T | Promise<T>} call
 * @returns {Promise<T>}
 */
export async function guardPanics(call) {
  if (panic) throw panic;
  const pending = call();
  if (panic) throw panic; // it panicked synchronously
  return Promise.race([pending, panicked]);
}

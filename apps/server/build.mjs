// Bundles the server with the workspace packages (which ship TypeScript source)
// into dist/main.js. Packages that load files of their own at run time
// (WebAssembly, workers) stay external and are dependencies of this package, as
// do OpenTelemetry's and node-postgres, which its instrumentation patches as it
// loads: the server's own code is a chunk that main.js imports once the SDK runs.
import { build } from "esbuild";

await build({
  entryPoints: ["src/main.ts"],
  outdir: "dist",
  bundle: true,
  splitting: true,
  platform: "node",
  target: "node24",
  format: "esm",
  sourcemap: true,
  external: [
    "@electric-sql/pglite",
    "@electric-sql/pglite-socket",
    "@opentelemetry/*",
    "@prisma/instrumentation",
    "@prisma/client",
    "@prisma/schema-engine-wasm",
    "pino",
    "pg",
    "pg-native",
    "swagger-ui-dist",
  ],
  // Bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: "warning",
});

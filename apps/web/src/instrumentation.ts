/** Runs once as the server starts, before any route's code is loaded. */
export async function register() {
  // Node.js only (a condition the build resolves, leaving the Edge bundle without these): the
  // check reads files and may end the process, and the SDK patches Node's modules.
  if (process.env.NEXT_RUNTIME === "nodejs") {
    (await import("./config-check.ts")).exitOnBadConfig();
    // OpenTelemetry when the OTEL_* variables ask for it: Next.js's own spans, then the
    // procedures' and Prisma's of each page and API call, in one trace.
    const telemetry = (await import("@tasks/telemetry")).startTelemetry({
      serviceName: "tasks-web",
    });
    if (telemetry) {
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => {
          const exported = telemetry.shutdown().catch(() => {});
          // Next.js closes its server, then calls process.exit: that exit waits until what is
          // buffered has been exported (bounded by OTEL_EXPORTER_OTLP_TIMEOUT).
          const exit = process.exit.bind(process);
          process.exit = ((code) => {
            void exported.finally(() => exit(code));
          }) as typeof process.exit;
        });
      }
    }
  }
}

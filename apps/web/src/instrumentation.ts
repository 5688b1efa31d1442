/** Runs once as the server starts, before any route's code is loaded. */
export async function register() {
  // Node.js only (a condition the build resolves, leaving the Edge bundle without these): the
  // check reads files and may end the process, and the SDK patches Node's modules.
  if (process.env.NEXT_RUNTIME === "nodejs") {
    (await import("./config-check.ts")).exitOnBadConfig();
    // OpenTelemetry when the OTEL_* variables ask for it: Next.js's own spans, then the
    // procedures', Prisma's and node-postgres's of each page and API call, in one trace.
    (await import("@tasks/telemetry")).startTelemetry({ serviceName: "tasks-web" });
  }
}

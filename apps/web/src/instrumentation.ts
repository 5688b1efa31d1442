/** Runs once as the server starts. */
export async function register() {
  // Node.js only: the check reads files and may end the process, neither of which the Edge runtime can.
  if (process.env.NEXT_RUNTIME === "nodejs") (await import("./config-check.ts")).exitOnBadConfig();
}

import { ConfigError, loadConfig } from "./env.ts";

/** A bad configuration stops the server before it takes a request, one line per variable. */
export function exitOnBadConfig(): void {
  try {
    loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

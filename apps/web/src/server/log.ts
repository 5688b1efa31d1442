import { traceFields } from "@tasks/telemetry/log";
import pino from "pino";

/**
 * The web app's server log: JSON lines on stdout, as the API server writes them. A line written
 * while a traced request is answered carries its `trace_id` and `span_id`.
 */
export const log = pino({ base: undefined, mixin: traceFields });

/**
 * Better Auth's log lines, through the same log: the message only, since the details it adds
 * can hold a person's address.
 */
export function authLog(level: "debug" | "info" | "warn" | "error", message: string): void {
  log[level]({ source: "better-auth" }, message);
}

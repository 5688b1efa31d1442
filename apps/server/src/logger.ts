import { traceFields } from "@tasks/telemetry/log";
import pino from "pino";

export type Logger = pino.Logger;

/** JSON lines on stdout (or on `destination`, e.g. in tests). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      // A line written while a traced request is answered names its trace and span.
      mixin: traceFields,
      // Belt and braces: nothing that carries a credential is ever written out.
      redact: {
        paths: ["authorization", "*.authorization", "token", "*.token"],
        censor: "[redacted]",
      },
    },
    destination,
  );
}

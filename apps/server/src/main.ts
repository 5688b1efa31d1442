import { existsSync } from "node:fs";
import { join } from "node:path";
import { workspaceRoot } from "@tasks/db/embedded";
import { startTelemetry } from "@tasks/telemetry";

// Variables already set win over the file.
const envFile = join(workspaceRoot(), ".env");
if (existsSync(envFile)) process.loadEnvFile(envFile);

// Before the modules it instruments load (Prisma's client): the server is imported after.
const telemetry = startTelemetry({ serviceName: "tasks-api" });
const { run } = await import("./run.ts");
await run(telemetry);

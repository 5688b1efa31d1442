/** The API server as its own process (`src/main.ts`, as `pnpm dev` runs it), with its JSON log. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SECRET } from "./support.ts";

export interface ServerProcess {
  url: string;
  pid: number;
  /** Every log line so far, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<number | string>;
  signal(signal: NodeJS.Signals): void;
}

const serverDir = join(import.meta.dirname, "..");

/** Starts the server on a free port with `env` (plus a test secret) and waits until it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const { DATABASE_URL: _inherited, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: serverDir,
    env: { ...inherited, PORT: "0", AUTH_JWT_SECRET: SECRET, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-5_000);
  });
  const exited = once(child, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const listening = new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === "API listening") resolve(String(entry.url));
    });
    exited.then((code) =>
      reject(new Error(`server exited (${code}) before listening:\n${stderr}`)),
    );
  });
  const url = await listening;
  return {
    url,
    pid: child.pid ?? 0,
    logs,
    exited,
    signal: (signal) => child.kill(signal),
  };
}

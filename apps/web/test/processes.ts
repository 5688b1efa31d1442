/** Test support: real server processes on free loopback ports. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface Service {
  stop(): Promise<void>;
  /** Everything the process has written to stdout and stderr so far. */
  output(): string;
}

interface ServiceOptions {
  env: NodeJS.ProcessEnv;
  /** The program to run; `node` (this process's) unless given, e.g. `pnpm`. */
  command?: string;
  cwd?: string;
  /** Polled until it answers 200. */
  readyUrl: string;
  timeoutMs?: number;
}

/**
 * Runs `node <args>` (or `command <args>`) and resolves once `readyUrl` answers. The process leads a group of its
 * own, so that stopping it also stops anything it started.
 */
export async function startService(
  name: string,
  args: string[],
  { env, command = process.execPath, cwd, readyUrl, timeoutMs = 30_000 }: ServiceOptions,
): Promise<Service> {
  const child = spawn(command, args, { cwd, env, detached: true });
  // Kept to explain a failed start and for tests to read; read, so that a chatty process never
  // blocks on a full pipe.
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => chunks.push(chunk));
  const exited = once(child, "exit").then(([code]) => code as number | null);

  const service = {
    stop: () => stop(child, exited),
    output: () => Buffer.concat(chunks).toString(),
  };
  try {
    await waitUntilReady(readyUrl, exited, timeoutMs);
  } catch (error) {
    await service.stop();
    const output = service.output().slice(-10_000);
    throw new Error(`${name} did not start: ${(error as Error).message}\n${output}`);
  }
  return service;
}

async function waitUntilReady(url: string, exited: Promise<number | null>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let hasExited = false;
  exited.then(() => {
    hasExited = true;
  });
  while (Date.now() < deadline) {
    if (hasExited) throw new Error(`exited with code ${await exited}`);
    const response = await fetch(url).catch(() => undefined);
    if (response?.ok) return;
    await new Promise((next) => setTimeout(next, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const group = -child.pid;
  process.kill(group, "SIGTERM");
  const killLater = setTimeout(() => process.kill(group, "SIGKILL"), 5_000);
  await exited;
  clearTimeout(killLater);
}

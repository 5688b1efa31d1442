/** The servers under measure, each a process of its own. */
import { type ChildProcess, spawn } from "node:child_process";

export function start(
  node: string,
  command: string[],
  env: Record<string, string>,
  cwd: string,
  /** A channel to the process (for the memory probe). */
  ipc = false,
): ChildProcess {
  const child = spawn(node, command, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit", ...(ipc ? (["ipc"] as const) : [])],
  });
  return child;
}

export async function waitFor(url: string) {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  throw new Error(`${url} did not answer`);
}

/** Stops a process and waits until it has exited. */
export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  await exited;
}

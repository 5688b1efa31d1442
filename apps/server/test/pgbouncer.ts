/**
 * Debian's PgBouncer in transaction pooling mode, in front of a test database, as Neon's pooled
 * endpoint is: each transaction may run on another server connection, so nothing may rely on
 * session state between them.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@tasks/db/testing/browser";

export interface PgBouncer {
  /** `databaseUrl`, reached through PgBouncer. */
  url: string;
  stop(): Promise<void>;
}

export async function startPgBouncer(databaseUrl: string): Promise<PgBouncer> {
  const target = new URL(databaseUrl);
  const database = target.pathname.slice(1);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), "pgbouncer-"));
  // PgBouncer refuses to run as root; it switches to the `postgres` user, which must read this.
  await chmod(dir, 0o755);
  const config = join(dir, "pgbouncer.ini");
  await writeFile(
    config,
    [
      "[databases]",
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database} user=${decodeURIComponent(target.username) || "postgres"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "auth_type = any",
      // Its console (database `pgbouncer`) shows the pools, to prove the traffic went through.
      "admin_users = postgres",
      "pool_mode = transaction",
      "default_pool_size = 4",
      "max_client_conn = 200",
      // TCP only, logging to stderr: the `postgres` user may not write in this folder.
      "unix_socket_dir =",
      "ignore_startup_parameters = extra_float_digits,options",
      "",
    ].join("\n"),
  );
  const args = process.getuid?.() === 0 ? ["-u", "postgres", config] : [config];
  const child: ChildProcess = spawn("pgbouncer", args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk) => {
    log = (log + chunk).slice(-5_000);
  });
  const exited = once(child, "exit");
  await waitForPort(port, exited).catch((error: Error) => {
    throw new Error(`${error.message}\n${log}`);
  });
  const url = new URL(databaseUrl);
  url.port = String(port);
  return {
    url: url.href,
    async stop() {
      child.kill("SIGINT");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, exited: Promise<unknown>) {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    if (gone) throw new Error("pgbouncer exited at start");
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("pgbouncer did not listen");
}

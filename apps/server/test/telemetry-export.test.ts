/**
 * The server process as an operator runs it with telemetry on: traces and metrics over OTLP/HTTP
 * to a receiver on loopback, and `/metrics` on its own listener, scraped by a real Prometheus
 * (Debian's package), whose query API then answers the request rate of one procedure.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appDatabaseEnv, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type ServerProcess, startServerProcess } from "./server-process.ts";
import { listen, signToken } from "./support.ts";

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpAttribute[];
}

/** An OTLP/HTTP receiver (the JSON encoding): what each signal's path was sent. */
function startReceiver() {
  const received = { traces: [] as unknown[], metrics: [] as unknown[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString() || "{}");
      if (req.url === "/v1/traces") received.traces.push(body);
      if (req.url === "/v1/metrics") received.metrics.push(body);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return { server, received };
}

function spansOf(payloads: unknown[]): OtlpSpan[] {
  return (payloads as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }[]).flatMap(
    (payload) => payload.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
  );
}

function metricNames(payloads: unknown[]): Set<string> {
  type Payload = { resourceMetrics: { scopeMetrics: { metrics: { name: string }[] }[] }[] };
  return new Set(
    (payloads as Payload[])
      .flatMap((payload) =>
        payload.resourceMetrics.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)),
      )
      .map((metric) => metric.name),
  );
}

/** The log line `server` wrote for the request that `response` answers, once it is written. */
function logLineOf(server: ServerProcess, response: Response) {
  const requestId = response.headers.get("x-request-id");
  return vi.waitFor(() => {
    const found = server.logs.find((entry) => entry.requestId === requestId);
    if (!found) throw new Error("no log line yet");
    return found;
  });
}

const attribute = (span: OtlpSpan, key: string) =>
  span.attributes.find((a) => a.key === key)?.value.stringValue;

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Where Debian's `prometheus` is installed (CI installs it): elsewhere its test does not run. */
function hasPrometheus(): boolean {
  try {
    execFileSync("prometheus", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Debian's Prometheus on loopback, scraping `target` every second. */
async function startPrometheus(target: string) {
  const dir = await mkdtemp(join(tmpdir(), "prometheus-"));
  const config = join(dir, "prometheus.yml");
  await writeFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "scrape_configs:",
      "  - job_name: tasks-api",
      "    static_configs:",
      `      - targets: ["${target}"]`,
    ].join("\n"),
  );
  const port = await freePort();
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  await vi.waitFor(
    async () => {
      const response = await fetch(`${url}/-/ready`);
      if (!response.ok) throw new Error("Prometheus is not ready yet");
    },
    { timeout: 30_000, interval: 200 },
  );
  return {
    url,
    /** One instant query's first value, if it has one. */
    async query(promql: string): Promise<number | undefined> {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as {
        data: { result: { value: [number, string] }[] };
      };
      const value = body.data.result[0]?.value[1];
      return value === undefined ? undefined : Number(value);
    },
    async stop() {
      child.kill("SIGTERM");
      if (child.exitCode === null) await once(child, "exit");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe("the server process with telemetry on", () => {
  const receiver = startReceiver();
  let receiverServer: Server;
  let database: TestDatabase | undefined;
  let server: ServerProcess;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;
  let metricsPort: number;
  let token: string;

  beforeAll(async () => {
    receiverServer = receiver.server;
    const otlp = await listen(receiverServer);
    metricsPort = await freePort();
    database = process.env.TEST_DATABASE_URL ? await createTestDatabase() : undefined;
    const databaseEnv = database
      ? appDatabaseEnv(database.url)
      : { PGLITE_DATA_DIR: join(await mkdtemp(join(tmpdir(), "telemetry-")), "pglite") };
    server = await startServerProcess({
      ...databaseEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRICS_EXPORTER: "prometheus,otlp",
      OTEL_METRIC_EXPORT_INTERVAL: "500",
      OTEL_EXPORTER_PROMETHEUS_HOST: "127.0.0.1",
      OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    });
    token = await signToken({ sub: "observed", email: "observed@example.com" });
  }, 120_000);
  afterAll(async () => {
    server?.signal("SIGTERM");
    await server?.exited;
    await prometheus?.stop();
    await new Promise((done) => receiverServer?.close(done));
    await database?.drop();
  });

  const list = () =>
    fetch(`${server.url}/trpc/task.list?input=${encodeURIComponent('{"json":{}}')}`, {
      headers: { authorization: `Bearer ${token}` },
    });

  it("sends each request's spans over OTLP, one trace, named in its log line", async () => {
    const response = await list();
    expect(response.status).toBe(200);
    const line = await logLineOf(server, response);
    const spans = await vi.waitFor(
      () => {
        const found = spansOf(receiver.received.traces).filter((s) => s.traceId === line.trace_id);
        // The server span ends last, once the response has gone: it may come in a later export.
        if (
          !found.some((s) => s.name === "prisma:client:db_query") ||
          !found.some((s) => !s.parentSpanId)
        )
          throw new Error("not all spans yet");
        return found;
      },
      { timeout: 10_000 },
    );
    const root = spans.find((s) => !s.parentSpanId);
    expect(root?.name).toBe("GET /trpc/task.list");
    expect(root?.spanId).toBe(line.span_id);
    const procedure = spans.find((s) => s.name === "task.list");
    expect(procedure?.parentSpanId).toBe(root?.spanId);
    expect(attribute(procedure as OtlpSpan, "rpc.response.status_code")).toBe("OK");
    expect(spans.some((s) => s.name === "prisma:client:operation")).toBe(true);
  });

  it("sends metrics over OTLP", async () => {
    await list();
    const names = await vi.waitFor(
      () => {
        const found = metricNames(receiver.received.metrics);
        if (!found.has("rpc.server.call.duration")) throw new Error("no procedure metric yet");
        return found;
      },
      { timeout: 10_000 },
    );
    for (const name of [
      "http.server.request.duration",
      "http.server.active_requests",
      "db.client.operation.duration",
      "db.client.connection.count",
    ]) {
      expect(names).toContain(name);
    }
  });

  it("serves /metrics on its own listener only, not on the API's port", async () => {
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("# TYPE rpc_server_call_duration histogram");
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });

  it.runIf(hasPrometheus() || Boolean(process.env.CI))(
    "is scraped by Prometheus, whose query API answers one procedure's request rate",
    async () => {
      prometheus = await startPrometheus(`127.0.0.1:${metricsPort}`);
      const { query } = prometheus;
      const rate = `sum(rate(rpc_server_call_duration_count{rpc_method="task.list"}[1m]))`;
      const routeRate = `sum(rate(http_server_request_duration_count{http_route="/trpc/task.list"}[1m]))`;
      // Calls over a few scrapes: a rate needs two samples that differ.
      await vi.waitFor(
        async () => {
          for (let i = 0; i < 5; i++) expect((await list()).status).toBe(200);
          const value = await query(rate);
          if (!(value && value > 0)) throw new Error(`no rate yet (${value})`);
        },
        { timeout: 30_000, interval: 500 },
      );
      expect(await query(routeRate)).toBeGreaterThan(0);
      // Other procedures were not called: their rate is absent, not made up.
      expect(
        await query(`sum(rate(rpc_server_call_duration_count{rpc_method="task.stats"}[1m]))`),
      ).toBeUndefined();
      expect(await query(`up{job="tasks-api"}`)).toBe(1);
    },
    60_000,
  );
  it("exports the spans it still holds when it is stopped", async () => {
    const otlp = `http://127.0.0.1:${(receiverServer.address() as AddressInfo).port}`;
    const databaseEnv = database
      ? appDatabaseEnv(database.url)
      : { PGLITE_DATA_DIR: join(await mkdtemp(join(tmpdir(), "telemetry-")), "pglite") };
    // Spans wait in the buffer for a minute: only the export at the stop sends them in time.
    const stopping = await startServerProcess({
      ...databaseEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "60000",
      OTEL_METRICS_EXPORTER: "none",
    });
    const response = await fetch(`${stopping.url}/trpc/task.stats`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    const line = await logLineOf(stopping, response);
    const ofRequest = () =>
      spansOf(receiver.received.traces).filter((s) => s.traceId === line.trace_id);
    await new Promise((settled) => setTimeout(settled, 300));
    expect(ofRequest()).toEqual([]);

    stopping.signal("SIGTERM");
    expect(await stopping.exited).toBe(0);
    expect(ofRequest().map((span) => span.name)).toContain("GET /trpc/task.stats");
  }, 60_000);
});

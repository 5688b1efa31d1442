/**
 * The built web app with OpenTelemetry configured by `OTEL_*` variables alone: one request is one
 * trace, from Next.js's own span through Prisma's to node-postgres's, exported over OTLP/HTTP to
 * a receiver on loopback as the service `tasks-web`; a log line of a traced request names its
 * trace and span; a stop exports what is still buffered.
 */
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { appDatabaseEnv, createTestDatabase, type TestDatabase } from "@tasks/db/testing";
import { freePort } from "@tasks/db/testing/browser";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Service, startService } from "./processes.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string } }[];
}
interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

const webDir = join(import.meta.dirname, "..");
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");

describe("the web app with telemetry on", () => {
  const received: OtlpTraces[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.url === "/v1/traces") received.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  let database: TestDatabase;
  let web: Service;
  let webUrl: string;
  /** The app at `url`, exporting its spans (OTLP/JSON) to the receiver within 100 ms. */
  const webEnv = (url: string, receiverPort: number): NodeJS.ProcessEnv => ({
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    ...appDatabaseEnv(database.url),
    DATABASE_POOL_MAX: "2",
    BETTER_AUTH_SECRET: "web-test-better-auth-secret-long-enough",
    BETTER_AUTH_URL: url,
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_BSP_SCHEDULE_DELAY: "100",
  });

  beforeAll(async () => {
    await new Promise<void>((listening) => receiver.listen(0, "127.0.0.1", listening));
    const { port: receiverPort } = receiver.address() as AddressInfo;
    const port = await freePort();
    webUrl = `http://127.0.0.1:${port}`;
    database = await createTestDatabase();
    web = await startService("Next.js", [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
      cwd: webDir,
      env: webEnv(webUrl, receiverPort),
      readyUrl: `${webUrl}/sign-in`,
      timeoutMs: 60_000,
    });
  }, 120_000);
  afterAll(async () => {
    await web?.stop();
    await database?.drop();
    await new Promise((closed) => receiver.close(closed));
  });

  const spans = () =>
    received.flatMap((payload) =>
      payload.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );

  const statement = (span: OtlpSpan) =>
    span.attributes.find((a) => a.key === "db.query.text")?.value.stringValue ?? "";

  it("exports a sign-up as one trace: Next.js's span, then Prisma's operations and statements", async () => {
    const email = "traced-web@example.com";
    const response = await fetch(`${webUrl}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: webUrl },
      body: JSON.stringify({ email, password: "a long and secret passphrase", name: "Trace" }),
    });
    expect(response.status).toBe(200);

    const trace = await vi.waitFor(
      () => {
        const insert = spans().find(
          (s) => s.name === "prisma:client:db_query" && statement(s).startsWith("INSERT INTO"),
        );
        if (!insert) throw new Error("no INSERT span yet");
        const trace = spans().filter((s) => s.traceId === insert.traceId);
        // The request's own span ends last, once its response has gone.
        if (!trace.some((s) => !s.parentSpanId)) throw new Error("no root span yet");
        return trace;
      },
      { timeout: 15_000, interval: 200 },
    );
    const names = trace.map((span) => span.name);
    const root = trace.find((span) => !span.parentSpanId);
    expect(root?.name).toMatch(/^POST \/api\/auth\//);
    expect(names).toContain("prisma:client:operation");
    expect(names).toContain("prisma:client:db_query");
    expect(names).not.toContain("prisma:client:serialize");
    // One tree: every span but the root has its parent in the trace.
    const ids = new Set(trace.map((span) => span.spanId));
    expect(trace.filter((span) => !span.parentSpanId || !ids.has(span.parentSpanId))).toHaveLength(
      1,
    );
    // Neither the password nor the address sent is in any attribute.
    const attributes = JSON.stringify(trace.map((span) => span.attributes));
    expect(attributes).not.toContain("a long and secret passphrase");
    expect(attributes).not.toContain(email);

    const service = received
      .flatMap((payload) => payload.resourceSpans)
      .flatMap((r) => r.resource.attributes)
      .find((attribute) => attribute.key === "service.name");
    expect(service?.value.stringValue).toBe("tasks-web");
  });
  it("writes a log line of a traced request with its trace and span ids, and no address", async () => {
    const email = "traced-web@example.com";
    const response = await fetch(`${webUrl}/api/auth/sign-in/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: webUrl },
      body: JSON.stringify({ email, password: "not the passphrase at all" }),
    });
    expect(response.status).toBe(401);

    // Better Auth's warning, as a JSON line of the app's log.
    const line = await vi.waitFor(
      () => {
        const found = web
          .output()
          .split("\n")
          .find((text) => text.includes('"Invalid password"'));
        if (!found) throw new Error("no log line yet");
        return found;
      },
      { timeout: 10_000, interval: 100 },
    );
    const fields = JSON.parse(line) as { level: number; trace_id?: string; span_id?: string };
    expect(fields.level).toBe(40);
    expect(line).not.toContain(email);
    // Its ids are those of the sign-in's trace, and of a span in it.
    const trace = await vi.waitFor(
      () => {
        const trace = spans().filter((s) => s.traceId === fields.trace_id);
        if (!trace.some((s) => !s.parentSpanId)) throw new Error("no root span yet");
        return trace;
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(trace.find((s) => !s.parentSpanId)?.name).toMatch(/^POST \/api\/auth\//);
    expect(trace.map((s) => s.spanId)).toContain(fields.span_id);
  });

  it("exports what it holds when it is stopped", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { port: receiverPort } = receiver.address() as AddressInfo;
    // Spans wait in the buffer for a minute: only a flush at the stop sends them in time.
    const stopping = await startService(
      "Next.js",
      [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"],
      {
        cwd: webDir,
        env: {
          ...webEnv(url, receiverPort),
          OTEL_SERVICE_NAME: "tasks-web-stopping",
          OTEL_BSP_SCHEDULE_DELAY: "60000",
        },
        readyUrl: `${url}/sign-in`,
        timeoutMs: 60_000,
      },
    );
    const ofService = () =>
      received
        .flatMap((payload) => payload.resourceSpans)
        .filter((r) =>
          r.resource.attributes.some(
            (a) => a.key === "service.name" && a.value.stringValue === "tasks-web-stopping",
          ),
        )
        .flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect((await fetch(`${url}/sign-in`)).status).toBe(200);
    await new Promise((settled) => setTimeout(settled, 500));
    expect(ofService()).toEqual([]);

    await stopping.stop();
    expect(ofService().map((span) => span.name)).toContain("GET /sign-in");
  });
});

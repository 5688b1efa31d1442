/**
 * The built web app with OpenTelemetry configured by `OTEL_*` variables alone: one request is one
 * trace, from Next.js's own span through Prisma's to node-postgres's, exported over OTLP/HTTP to
 * a receiver on loopback as the service `tasks-web`.
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

  beforeAll(async () => {
    await new Promise<void>((listening) => receiver.listen(0, "127.0.0.1", listening));
    const { port: receiverPort } = receiver.address() as AddressInfo;
    const port = await freePort();
    webUrl = `http://127.0.0.1:${port}`;
    database = await createTestDatabase();
    web = await startService("Next.js", [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
      cwd: webDir,
      env: {
        ...process.env,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        ...appDatabaseEnv(database.url),
        DATABASE_POOL_MAX: "2",
        BETTER_AUTH_SECRET: "web-test-better-auth-secret-long-enough",
        BETTER_AUTH_URL: webUrl,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_METRICS_EXPORTER: "none",
        OTEL_BSP_SCHEDULE_DELAY: "100",
      },
      readyUrl: `${webUrl}/sign-in`,
      timeoutMs: 60_000,
    });
  }, 120_000);
  afterAll(async () => {
    await web?.stop();
    await database?.drop();
    await new Promise((closed) => receiver.close(closed));
  });

  it("exports a sign-up as one trace: Next.js's span, then Prisma's, then pg's", async () => {
    const email = "traced-web@example.com";
    const response = await fetch(`${webUrl}/api/auth/sign-up/email`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: webUrl },
      body: JSON.stringify({ email, password: "a long and secret passphrase", name: "Trace" }),
    });
    expect(response.status).toBe(200);

    const trace = await vi.waitFor(
      () => {
        const spans = received.flatMap((payload) =>
          payload.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
        );
        const insert = spans.find((s) => s.name.startsWith("pg.query:INSERT"));
        if (!insert) throw new Error("no INSERT span yet");
        const trace = spans.filter((s) => s.traceId === insert.traceId);
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
    expect(names.some((name) => name.startsWith("pg.query:"))).toBe(true);
    expect(names).not.toContain("prisma:client:db_query");
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
});

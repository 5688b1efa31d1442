/**
 * Prisma's spans through the tracer `startTelemetry` gives its instrumentation: recorded under a
 * recorded span, and not started at all where tracing is suppressed (a request the sampler did
 * not record), so that such a request pays for no span, context or end of Prisma's.
 */
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, describe, expect, it } from "vitest";
import { startTelemetry } from "../src/index.ts";

const exporter = new InMemorySpanExporter();
// Exports each span once the resource's attributes are in: read them after a flush.
const processor = new SimpleSpanProcessor({ exporter });
const telemetry = startTelemetry({
  serviceName: "test",
  spanProcessors: [processor],
  metricReaders: [],
});
afterAll(() => telemetry?.shutdown());

/** What Prisma's client calls for each of its phases: the helper its instrumentation registers. */
interface TracingHelper {
  runInChildSpan<T>(name: string, run: () => T): T;
}
const prisma = () =>
  (globalThis as { V7_PRISMA_INSTRUMENTATION?: { helper: TracingHelper } })
    .V7_PRISMA_INSTRUMENTATION?.helper as TracingHelper;

describe("Prisma's spans", () => {
  it("are recorded under the span of a recorded request", async () => {
    expect(telemetry?.traces).toBe(true);
    const request = trace.getTracer("test").startSpan("GET /trpc/task.list");
    await context.with(trace.setSpan(ROOT_CONTEXT, request), () =>
      prisma().runInChildSpan("operation", async () => {
        await prisma().runInChildSpan("serialize", async () => {});
        await prisma().runInChildSpan("db_query", async () => {});
      }),
    );
    request.end();
    await processor.forceFlush();
    const spans = exporter.getFinishedSpans();
    const operation = spans.find((span) => span.name === "prisma:client:operation");
    const query = spans.find((span) => span.name === "prisma:client:db_query");
    expect(operation?.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(query?.parentSpanContext?.spanId).toBe(operation?.spanContext().spanId);
    // Serialising is on the ignore list.
    expect(spans.map((span) => span.name)).not.toContain("prisma:client:serialize");
  });

  it("are not started where tracing is suppressed: no span, no context entered", async () => {
    exporter.reset();
    const untraced = suppressTracing(ROOT_CONTEXT);
    const seen = await context.with(untraced, () =>
      prisma().runInChildSpan("operation", async () => {
        const inOperation = context.active();
        await prisma().runInChildSpan("db_query", async () => {});
        return inOperation;
      }),
    );
    // The SDK's own no-op span would have entered a context of its own, holding it.
    expect(seen).toBe(untraced);
    expect(trace.getSpan(seen)).toBeUndefined();
    await processor.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

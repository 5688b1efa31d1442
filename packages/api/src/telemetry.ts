/**
 * The API's own spans and metrics, after OpenTelemetry's semantic conventions where they have
 * one. Through `@opentelemetry/api` only: without an SDK started (the default), each is a no-op.
 */
import {
  type Attributes,
  context,
  metrics,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { getRPCMetadata, isTracingSuppressed, RPCType } from "@opentelemetry/core";
import { taskQuotaReached } from "@tasks/db";
import type { TRPCError } from "@trpc/server";

const SCOPE = "@tasks/api";

/** Made on first use, so that they come from the meter provider the SDK registered at start. */
let instruments: ReturnType<typeof createInstruments> | undefined;

function createInstruments() {
  const meter = metrics.getMeter(SCOPE);
  return {
    callDuration: meter.createHistogram("rpc.server.call.duration", {
      description: "How long each procedure takes, by procedure and result code.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    quotaRefusals: meter.createCounter("tasks.quota.refusals", {
      description: "Tasks refused because the account holds its limit.",
      unit: "{task}",
    }),
    rateLimitRefusals: meter.createCounter("tasks.rate_limit.refusals", {
      description: "Requests refused by the rate limits (429), by policy.",
      unit: "{request}",
    }),
  };
}

function use() {
  instruments ??= createInstruments();
  return instruments;
}

/** The semantic conventions' buckets for HTTP and RPC durations (seconds). */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/** Codes that are the server's fault: only these mark a span as failed. */
const SERVER_FAULTS = new Set<TRPCError["code"]>([
  "INTERNAL_SERVER_ERROR",
  "SERVICE_UNAVAILABLE",
  "GATEWAY_TIMEOUT",
  "NOT_IMPLEMENTED",
  "BAD_GATEWAY",
]);

const tracer = trace.getTracer(SCOPE);

interface Call {
  path: string;
  type: string;
  /** The REST route (`/api/tasks/{id}`) of a procedure that has one. */
  restRoute?: string;
}

/**
 * Runs a procedure in a span of its own (`task.list`), and records its duration and result
 * code. An error is recorded as its code only: its message may carry data.
 */
export function traceProcedure<T extends { ok: boolean; error?: TRPCError }>(
  call: Call,
  run: () => Promise<T>,
): Promise<T> {
  // The HTTP server span names its route: the REST template when the call came that way (the
  // tRPC face has named it already), so that no raw URL becomes a metric's label.
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP && rpc.route === undefined && call.restRoute) {
    rpc.route = call.restRoute;
  }
  const attributes: Attributes = {
    "rpc.system": "trpc",
    "rpc.method": call.path,
    "trpc.type": call.type,
  };
  // In a request the sampler did not pick, no span: only the metrics.
  if (isTracingSuppressed(context.active())) return measure(attributes, run);
  return tracer.startActiveSpan(call.path, { attributes }, async (span) => {
    try {
      return await measure(attributes, run, span);
    } finally {
      span.end();
    }
  });
}

/** Runs the procedure, records its duration and result code, and sets them on `span`. */
async function measure<T extends { ok: boolean; error?: TRPCError }>(
  attributes: Attributes,
  run: () => Promise<T>,
  span?: Span,
): Promise<T> {
  const started = performance.now();
  const result = await run();
  const code = result.ok ? "OK" : (result.error?.code ?? "INTERNAL_SERVER_ERROR");
  span?.setAttribute("rpc.response.status_code", code);
  if (!result.ok) {
    span?.setAttribute("error.type", code);
    if (SERVER_FAULTS.has(code as TRPCError["code"])) {
      span?.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (taskQuotaReached(result.error?.cause) !== undefined) use().quotaRefusals.add(1);
  }
  use().callDuration.record((performance.now() - started) / 1000, {
    ...attributes,
    "rpc.response.status_code": code,
  });
  return result;
}

/** Counts a request the rate limits refused, by the policy that refused it (`user`, `ip`). */
export function countRateLimitRefusal(policy: string): void {
  use().rateLimitRefusals.add(1, { "tasks.rate_limit.policy": policy });
}

/**
 * Names the route of the HTTP request being answered (the procedure's or REST route, never the
 * raw URL), for its server span and `http.server.request.duration`.
 */
export function nameRoute(route: string): void {
  const rpc = getRPCMetadata(context.active());
  if (rpc?.type === RPCType.HTTP) rpc.route = route;
}

/** Reports `count()` as the number of open live streams (`tasks.live.streams`). */
export function observeLiveStreams(count: () => number): () => void {
  const gauge = metrics.getMeter(SCOPE).createObservableUpDownCounter("tasks.live.streams", {
    description: "Live streams (subscriptions) open on this process.",
    unit: "{stream}",
  });
  const report = (result: { observe(value: number): void }) => result.observe(count());
  gauge.addCallback(report);
  return () => gauge.removeCallback(report);
}

/**
 * Each request's HTTP server span and metrics (`http.server.request.duration`,
 * `http.server.active_requests`), after OpenTelemetry's semantic conventions.
 *
 * In place of `@opentelemetry/instrumentation-http`, for its cost at a low sampling rate: a
 * request the sampler does not record runs with tracing suppressed, so that nothing below it
 * (the procedure, Prisma) makes a span at all, where the instrumentation gives every request a
 * span in the context and binds its emitters. Metrics count every request either way.
 * BENCHMARKS.md has both, in the same runs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type Attributes,
  context,
  type Histogram,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { type RPCMetadata, RPCType, setRPCMetadata, suppressTracing } from "@opentelemetry/core";
import { DURATION_BUCKETS } from "@tasks/api";

const SCOPE = "@tasks/server";
const tracer = trace.getTracer(SCOPE);

/** Requests being answered, by method: counted here, read only when metrics are collected. */
const active = new Map<string, number>();

/** Made on first use, from the meter provider the SDK registered at start. */
let duration: Histogram | undefined;

function requestDuration() {
  if (!duration) {
    const meter = metrics.getMeter(SCOPE);
    duration = meter.createHistogram("http.server.request.duration", {
      description: "How long each request takes, by route and status.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    meter
      .createObservableUpDownCounter("http.server.active_requests", {
        description: "Requests being answered.",
        unit: "{request}",
      })
      .addCallback((result) => {
        for (const [method, count] of active) {
          result.observe(count, { "http.request.method": method, "url.scheme": "http" });
        }
      });
  }
  return duration;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Runs `handle` as the request's server span, continuing the caller's trace (W3C
 * `traceparent`). The route, named while the request is handled (`nameRoute` in `@tasks/api`,
 * the convention's RPC metadata), names the span and labels the metrics; the raw URL never does,
 * and the query string is not recorded.
 */
export function observeRequest(
  req: IncomingMessage,
  res: ServerResponse,
  handle: () => Promise<void>,
): Promise<void> {
  const method = METHODS.has(req.method ?? "") ? (req.method as string) : "_OTHER";
  const common: Attributes = { "http.request.method": method, "url.scheme": "http" };
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  // At the start, what the convention gives a sampler to decide by; the rest only on a span
  // that is recorded, as most are not.
  const span = tracer.startSpan(
    method,
    {
      kind: SpanKind.SERVER,
      attributes: { ...common, "url.path": (req.url ?? "/").split("?", 1)[0] },
    },
    parent,
  );
  const recording = span.isRecording();
  if (recording) {
    span.setAttributes({
      "network.peer.address": req.socket.remoteAddress,
      "network.protocol.version": req.httpVersion,
      "user_agent.original": req.headers["user-agent"],
    });
  }
  const rpc: RPCMetadata = { type: RPCType.HTTP, span };
  const started = performance.now();
  const duration = requestDuration();
  active.set(method, (active.get(method) ?? 0) + 1);
  res.once("close", () => {
    active.set(method, (active.get(method) ?? 1) - 1);
    const status = res.statusCode;
    const outcome: Attributes = { ...common, "http.response.status_code": status };
    if (rpc.route) outcome["http.route"] = rpc.route;
    if (status >= 500) outcome["error.type"] = String(status);
    duration.record((performance.now() - started) / 1000, outcome);
    // On a span the sampler did not record, each of these is a no-op.
    if (rpc.route) span.updateName(`${method} ${rpc.route}`);
    span.setAttributes(outcome);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  // Unsampled: no span at all in the context (nor the caller's), so that nothing beneath starts
  // one or wraps its work for one (see `@tasks/telemetry`).
  const traced = recording ? trace.setSpan(parent, span) : UNTRACED;
  return context.with(setRPCMetadata(traced, rpc), handle);
}

/** The context of a request the sampler did not record. */
const UNTRACED = suppressTracing(ROOT_CONTEXT);

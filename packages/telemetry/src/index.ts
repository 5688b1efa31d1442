/**
 * OpenTelemetry for the API server and the web app: the Node SDK, configured by the standard
 * `OTEL_*` variables, with Prisma's instrumentation. The HTTP server spans are each app's own:
 * the API server's `request-telemetry.ts`, Next.js's in the web app.
 *
 * Off unless configured: with no exporter named and no OTLP endpoint set, nothing is started and
 * every span and metric of the code is the API's no-op.
 */
import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  type Span,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { isTracingSuppressed } from "@opentelemetry/core";
import { NodeSDK, type NodeSDKConfiguration } from "@opentelemetry/sdk-node";
import { PrismaInstrumentation } from "@prisma/instrumentation";

export interface Telemetry {
  /** Which signals are exported. */
  traces: boolean;
  metrics: boolean;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  /** `service.name`, unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) names it. */
  serviceName: string;
  /** Where spans go instead of the exporters the environment names (tests: an in-memory one). */
  spanProcessors?: NodeSDKConfiguration["spanProcessors"];
  /** Where metrics go instead of the exporters the environment names. */
  metricReaders?: NodeSDKConfiguration["metricReaders"];
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts the SDK when the environment (or `options`) asks for traces or metrics; null otherwise.
 * Call it before Prisma's client is made.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry | null {
  const env = options.env ?? process.env;
  const requested = requestedSignals(env);
  const traces = options.spanProcessors ? options.spanProcessors.length > 0 : requested.traces;
  const metrics = options.metricReaders ? options.metricReaders.length > 0 : requested.metrics;
  if (requested.disabled || (!traces && !metrics)) return null;

  const named =
    Boolean(env.OTEL_SERVICE_NAME) ||
    /(^|,)\s*service\.name=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
  // Prisma's spans only: each operation, and under it each statement it sends (`db_query`,
  // with the SQL). Not Prisma's serialising and compiling of each query, which would tell
  // little for their cost on every traced query; nor node-postgres's instrumentation, whose
  // span of a statement is Prisma's again, and whose wrapping of every statement and pool
  // checkout costs the requests the sampler leaves out as well (README, telemetry's cost).
  const prisma = traces
    ? new PrismaInstrumentation({
        ignoreSpanTypes: ["prisma:client:serialize", "prisma:client:compile"],
      })
    : undefined;
  const sdk = new NodeSDK({
    serviceName: named ? undefined : options.serviceName,
    // Empty lists turn a signal off; unset, the SDK reads the exporters from the environment.
    spanProcessors: traces ? options.spanProcessors : [],
    metricReaders: metrics ? options.metricReaders : [],
    // Logs stay pino's, on stdout, with the trace ids in each line (`traceFields`).
    logRecordProcessors: [],
    instrumentations: prisma ? [prisma] : [],
  });
  sdk.start();
  // The instrumentation hands its tracer provider to Prisma's client when it is enabled.
  prisma?.setTracerProvider(outsideUntracedRequests(trace.getTracerProvider()));
  prisma?.enable();
  return { traces, metrics, shutdown: () => sdk.shutdown() };
}

/**
 * `provider`, except that where tracing is suppressed (a request the sampler did not pick: see
 * the API server's `request-telemetry.ts`) a span started as active is not started at all: the
 * work runs as it is, with no span made, no context entered and nothing to end.
 */
function outsideUntracedRequests(provider: TracerProvider): TracerProvider {
  const untraced = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const wrap = (tracer: Tracer): Tracer => ({
    startSpan: (...span) => tracer.startSpan(...span),
    startActiveSpan: ((...span: unknown[]) => {
      const run = span.at(-1) as (span: Span) => unknown;
      const parent = span.length === 4 ? (span[2] as Context) : context.active();
      if (isTracingSuppressed(parent)) return run(untraced);
      return (tracer.startActiveSpan as (...span: unknown[]) => unknown)(...span);
    }) as Tracer["startActiveSpan"],
  });
  // Prisma asks for its tracer at every span it starts: each is wrapped once.
  const tracers = new Map<string, Tracer>();
  return {
    getTracer(name, version, options) {
      const key = `${name}@${version ?? ""}:${options?.schemaUrl ?? ""}`;
      let tracer = tracers.get(key);
      if (!tracer) {
        tracer = wrap(provider.getTracer(name, version, options));
        tracers.set(key, tracer);
      }
      return tracer;
    },
  };
}

/** Which signals the environment asks for (`OTEL_SDK_DISABLED=true`: none, whatever else says). */
export function requestedSignals(env: NodeJS.ProcessEnv) {
  const disabled = /^true$/i.test(env.OTEL_SDK_DISABLED?.trim() ?? "");
  return {
    disabled,
    traces: !disabled && exports(env, "TRACES"),
    metrics: !disabled && exports(env, "METRICS"),
  };
}

/**
 * Whether the environment asks for a signal: its exporter is named (other than `none`), or an
 * OTLP endpoint is set for it (the SDK's default exporter is OTLP).
 */
function exports(env: NodeJS.ProcessEnv, signal: "TRACES" | "METRICS"): boolean {
  const named = env[`OTEL_${signal}_EXPORTER`]?.trim();
  if (named) return !named.split(",").every((name) => name.trim() === "none");
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]);
}

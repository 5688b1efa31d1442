import { isSpanContextValid, trace } from "@opentelemetry/api";

/**
 * The active span's ids, in the field names of OpenTelemetry's log data model (as a pino
 * `mixin`, they go into every log line written while a traced request is handled).
 */
export function traceFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return {};
  return {
    trace_id: context.traceId,
    span_id: context.spanId,
    trace_flags: `0${context.traceFlags.toString(16)}`,
  };
}

import { describe, expect, it } from "vitest";
import { requestedSignals, startTelemetry } from "../src/index.ts";

describe("telemetry is off unless the OTEL_* variables ask for it", () => {
  it("starts nothing with none of them set", () => {
    expect(requestedSignals({})).toEqual({ disabled: false, traces: false, metrics: false });
    expect(startTelemetry({ serviceName: "test", env: {} })).toBeNull();
  });

  it("turns both signals on with an OTLP endpoint (the SDK's default exporter)", () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(requestedSignals(env)).toMatchObject({ traces: true, metrics: true });
  });

  it("turns on only the signal whose own endpoint is set", () => {
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" };
    expect(requestedSignals(env)).toMatchObject({ traces: true, metrics: false });
  });

  it("takes the exporters named, and none as off", () => {
    expect(requestedSignals({ OTEL_METRICS_EXPORTER: "prometheus" })).toMatchObject({
      traces: false,
      metrics: true,
    });
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_TRACES_EXPORTER: "none",
    };
    expect(requestedSignals(env)).toMatchObject({ traces: false, metrics: true });
  });

  it("starts nothing when OTEL_SDK_DISABLED is true, whatever else is set", () => {
    const env = { OTEL_SDK_DISABLED: "TRUE", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(requestedSignals(env)).toEqual({ disabled: true, traces: false, metrics: false });
    expect(startTelemetry({ serviceName: "test", env })).toBeNull();
  });
});

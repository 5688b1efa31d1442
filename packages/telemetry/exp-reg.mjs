import { register } from "node:module";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { NodeSDK } from "@opentelemetry/sdk-node";

if (process.env.HOOK) register("@opentelemetry/instrumentation/hook.mjs", import.meta.url);
const sdk = new NodeSDK({
  instrumentations: [new PgInstrumentation(), new HttpInstrumentation()],
  metricReaders: [],
  spanProcessors: [],
});
sdk.start();

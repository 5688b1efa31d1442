/** Runs the baseline server as a process of its own: `PORT`, `DATABASE_URL`, `DATABASE_POOL_MAX`. */
import { createBaselineServer } from "./baseline.ts";
import { AUTH } from "./scenarios.ts";

const { server, close } = createBaselineServer({
  databaseUrl: process.env.DATABASE_URL as string,
  poolMax: Number(process.env.DATABASE_POOL_MAX) || 10,
  ...AUTH,
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.once("SIGTERM", () => close().then(() => process.exit(0)));

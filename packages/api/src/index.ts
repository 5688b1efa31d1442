import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root.ts";

export {
  AccountError,
  type Accounts,
  type AccountsOptions,
  createAccounts,
  deleteAccount,
} from "./accounts.ts";
export {
  type AuthConfig,
  bearerToken,
  createTokenVerifier,
  type Identity,
  InvalidTokenError,
  KeysUnavailableError,
  MAX_TOKEN_LENGTH,
  type VerifyToken,
} from "./auth.ts";
export { oversizedBatch, trpcErrorBody } from "./limits.ts";
export { createLiveChanges, type LiveChange, type LiveChanges, type LiveLimits } from "./live.ts";
export { type LiveService, type LiveServiceOptions, startLiveChanges } from "./live-service.ts";
export { changeStreamResponse, plainChangeStream } from "./live-sse.ts";
export {
  clientAddress,
  createApiRateLimiter,
  createRateLimiter,
  limitRequest,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitStore,
  type RateLimits,
  rateLimitHeaders,
  rateLimitMessage,
  trpcCalls,
} from "./rate-limit.ts";
export { type AppRouter, appRouter, createCaller } from "./root.ts";
export { TASK_SORTS, type TaskSort, taskSelect } from "./router/task.ts";
export {
  countRateLimitRefusal,
  DURATION_BUCKETS,
  nameRoute,
  observeLiveStreams,
} from "./telemetry.ts";
export { transformer } from "./transformer.ts";
export { type Context, createContextFactory, createInnerContext } from "./trpc.ts";

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export { createRestDocument, REST_PREFIX } from "./rest.ts";

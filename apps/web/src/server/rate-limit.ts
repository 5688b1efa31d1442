import { clientAddress, limitRequest, rateLimitHeaders, rateLimitMessage } from "@tasks/api";
import type { Services } from "./services.ts";

/**
 * The rate limit of a call to this app's API, decided before anything runs: a 429 (with
 * Retry-After, RateLimit and RateLimit-Policy) whose body `refusal` writes, or the RateLimit
 * fields for the answer. The client address is the X-Forwarded-For entry of the farthest trusted
 * proxy; Next.js itself fills the header with the peer's address when no proxy did.
 */
export async function rateLimit(
  { rateLimiter, verifyToken, config }: Services,
  request: Request,
  cost: number,
  refusal: (message: string) => string,
): Promise<{ refused: Response | null; headers: Record<string, string> }> {
  if (!rateLimiter) return { refused: null, headers: {} };
  const decision = await limitRequest(rateLimiter, verifyToken, {
    authorization: request.headers.get("authorization") ?? undefined,
    address: clientAddress(
      undefined,
      request.headers.get("x-forwarded-for") ?? undefined,
      Math.max(1, config.rateLimits.trustedProxies),
    ),
    cost,
  });
  if (!decision) return { refused: null, headers: {} };
  const headers = rateLimitHeaders(decision);
  if (decision.allowed) return { refused: null, headers };
  const refused = new Response(refusal(rateLimitMessage(decision)), {
    status: 429,
    headers: { ...headers, "content-type": "application/json" },
  });
  return { refused, headers };
}

/** The answer with the RateLimit fields added. */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

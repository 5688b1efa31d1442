import { appRouter } from "@tasks/api";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { OWN_API_PATH } from "../../../../env.ts";
import { services } from "../../../../server/services.ts";

/**
 * The API inside the web app, for deployments without the API server: the same
 * router and the same token checks, against Better Auth's JWKS.
 */
async function handler(request: Request): Promise<Response> {
  const { createApiContext } = await services();
  return fetchRequestHandler({
    endpoint: OWN_API_PATH,
    router: appRouter,
    req: request,
    createContext: () =>
      createApiContext({ authorization: request.headers.get("authorization") ?? undefined }),
    onError({ error, path }) {
      if (error.code === "INTERNAL_SERVER_ERROR") {
        console.error(`procedure ${path} failed:`, error.cause ?? error);
      }
    },
  });
}

export { handler as GET, handler as POST };

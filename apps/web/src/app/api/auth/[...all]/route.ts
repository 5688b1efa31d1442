import { services } from "../../../../server/services.ts";

/** Better Auth: sign-up, sign-in, sessions, `/api/auth/token` and `/api/auth/jwks`. */
async function handler(request: Request): Promise<Response> {
  const { auth } = await services();
  return auth.handler(request);
}

export { handler as GET, handler as POST };

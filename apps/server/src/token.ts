/**
 * Prints a token for the development server: `pnpm dev-token --sub alice --email alice@example.com`.
 * Signs with AUTH_JWT_SECRET when it is set, otherwise with the generated development secret.
 */
import { parseArgs } from "node:util";
import { developmentSecret } from "@tasks/auth/dev-secret";
import { SignJWT } from "jose";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    email: { type: "string" },
    name: { type: "string" },
    ttl: { type: "string", default: "1h" },
  },
});

if (!values.sub) {
  console.error(
    "Usage: pnpm dev-token --sub <user id> [--email <email>] [--name <name>] [--ttl 1h]",
  );
  process.exit(1);
}

const secret = process.env.AUTH_JWT_SECRET || developmentSecret("dev-jwt-secret");
const jwt = new SignJWT({ email: values.email, name: values.name })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(values.ttl);
if (process.env.AUTH_ISSUER) jwt.setIssuer(process.env.AUTH_ISSUER);
if (process.env.AUTH_AUDIENCE) jwt.setAudience(process.env.AUTH_AUDIENCE);

console.log(await jwt.sign(new TextEncoder().encode(secret)));

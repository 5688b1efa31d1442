import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";

/** How tokens are checked: with the keys an identity provider publishes, or with a shared secret. */
export type AuthConfig = ({ mode: "jwks"; jwksUrl: URL } | { mode: "secret"; secret: string }) & {
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
  /** Leeway for `exp` and `nbf`, in seconds (default 5). */
  clockToleranceSeconds?: number;
};

/** The verified claims the API uses. */
export interface Identity {
  userId: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  image?: string;
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** Asymmetric algorithms for published keys; only HMAC for a shared secret, so neither can pose as the other. */
const JWKS_ALGORITHMS = ["EdDSA", "ES256", "RS256"];
const SECRET_ALGORITHMS = ["HS256"];

/** Real tokens are well under this; a larger one is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** The longest `sub` a user id can hold (the `users.id` column). */
const MAX_SUBJECT_LENGTH = 255;

export type VerifyToken = (token: string) => Promise<Identity>;

/**
 * Verifies tokens as `configs` say. With more than one (in development: the web
 * app's JWKS and the local HS256 secret), each token goes to the one whose
 * algorithms include the token's, so none can pose as another.
 */
export function createTokenVerifier(...configs: AuthConfig[]): VerifyToken {
  const verifiers = configs.map((config) => ({
    algorithms: config.mode === "jwks" ? JWKS_ALGORITHMS : SECRET_ALGORITHMS,
    verify: verifierFor(config),
  }));
  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("Token is too large.");
    let alg: string | undefined;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      throw new InvalidTokenError("Invalid or expired token.");
    }
    const verifier = verifiers.find(({ algorithms }) => alg && algorithms.includes(alg));
    if (!verifier) throw new InvalidTokenError("Invalid or expired token.");
    return toIdentity(await verifier.verify(token));
  };
}

function verifierFor(config: AuthConfig): (token: string) => Promise<JWTPayload> {
  const key: Uint8Array | JWTVerifyGetKey =
    config.mode === "jwks"
      ? createRemoteJWKSet(config.jwksUrl, {
          cacheMaxAge: 10 * 60_000,
          cooldownDuration: 30_000,
          timeoutDuration: 5_000,
        })
      : new TextEncoder().encode(config.secret);
  const options = {
    algorithms: config.mode === "jwks" ? JWKS_ALGORITHMS : SECRET_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds ?? 5,
    requiredClaims: ["exp", "sub"],
  };
  return async (token) => {
    try {
      // jose's overloads differ for a key and a key set; both take the same options.
      return (await jwtVerify(token, key as Uint8Array, options)).payload;
    } catch {
      // jose's reason (expired, bad signature, …) is not worth telling a caller apart.
      throw new InvalidTokenError("Invalid or expired token.");
    }
  };
}

function toIdentity(payload: JWTPayload): Identity {
  const { sub } = payload;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
    throw new InvalidTokenError("Token subject is missing or invalid.");
  }
  return {
    userId: sub,
    email: stringClaim(payload.email)?.toLowerCase(),
    emailVerified: typeof payload.email_verified === "boolean" ? payload.email_verified : undefined,
    name: stringClaim(payload.name),
    image: stringClaim(payload.picture) ?? stringClaim(payload.image),
  };
}

function stringClaim(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The token in an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header ?? "");
  return match?.[1];
}

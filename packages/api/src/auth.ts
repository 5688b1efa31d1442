import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { email, imageUrl, text } from "./fields.ts";

/** How tokens are checked: with the keys an identity provider publishes, or with a shared secret. */
export type AuthConfig = ({ mode: "jwks"; jwksUrl: URL } | { mode: "secret"; secret: string }) & {
  /** Required `iss`, when set. */
  issuer?: string;
  /** Required `aud`, when set. */
  audience?: string;
  /** Leeway for `exp` and `nbf`, in seconds (default 5). */
  clockToleranceSeconds?: number;
  /** How long a fetch of the JWKS may take (ms, default 5 000). */
  jwksTimeoutMs?: number;
  /** Tokens issued (`iat`) longer ago are refused, whatever their `exp` (seconds, default a day). */
  maxTokenAgeSeconds?: number;
};

/** The verified claims the API uses. */
export interface Identity {
  userId: string;
  email?: string;
  emailVerified?: boolean;
  name?: string;
  image?: string;
  /** When the token expires (`exp`, ms since the epoch): a live stream ends then. */
  expiresAt?: number;
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The identity provider's keys could not be fetched: the token may be fine, so not a 401. */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
}

/** Asymmetric algorithms for published keys; only HMAC for a shared secret, so neither can pose as the other. */
const JWKS_ALGORITHMS = ["EdDSA", "ES256", "RS256"];
const SECRET_ALGORITHMS = ["HS256"];

/** Real tokens are well under this; a larger one is refused before any parsing. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** The longest `sub` a user id can hold (the `users.id` column). */
const MAX_SUBJECT_LENGTH = 255;

export type VerifyToken = (token: string) => Promise<Readonly<Identity>>;

/** Most verified tokens remembered at once, and the most memory their strings may take. */
const VERIFIED_TOKENS_KEPT = 10_000;
const VERIFIED_TOKENS_BYTES = 16 * 1024 * 1024;

/** Expiry by the wall clock, read on every look-up, as `exp` is (and as tests set it). */
export const wallClock = { perf: { now: () => Date.now() }, ttlResolution: 0 };

/**
 * Verifies tokens as `configs` say. With more than one (in development: the web
 * app's JWKS and the local HS256 secret), each token goes to the one whose
 * algorithms include the token's, so none can pose as another.
 *
 * A token that passed is remembered until its `exp`, so a client's next requests with it skip
 * the signature check. Only the exact token string finds its entry: any change to it is
 * verified afresh. The price: a key withdrawn from the identity provider's key set stops
 * tokens already seen only when they expire (jose's key set cache keeps it for 10 minutes too).
 */
export function createTokenVerifier(...configs: AuthConfig[]): VerifyToken {
  const verifiers = configs.map((config) => ({
    algorithms: config.mode === "jwks" ? JWKS_ALGORITHMS : SECRET_ALGORITHMS,
    verify: verifierFor(config),
  }));
  // Least recently used tokens go first; an expired one is never returned, and is dropped.
  const verified = new LRUCache<string, Identity>({
    max: VERIFIED_TOKENS_KEPT,
    maxSize: VERIFIED_TOKENS_BYTES,
    // The token's characters (UTF-16) and about as much again for its entry and identity.
    sizeCalculation: (_identity, token) => 4 * token.length,
    ...wallClock,
  });

  return async (token) => {
    const known = verified.get(token);
    if (known) return known;
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("Token is too large.");
    let alg: string | undefined;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      throw new InvalidTokenError("Invalid or expired token.");
    }
    const verifier = verifiers.find(({ algorithms }) => alg && algorithms.includes(alg));
    if (!verifier) throw new InvalidTokenError("Invalid or expired token.");
    const payload = await verifier.verify(token);
    const identity = Object.freeze(toIdentity(payload));
    // `exp` is a required claim, checked by jose (with the clock tolerance).
    const ttl = (payload.exp as number) * 1000 - Date.now();
    if (ttl > 0) verified.set(token, identity, { ttl });
    return identity;
  };
}

function verifierFor(config: AuthConfig): (token: string) => Promise<JWTPayload> {
  const key: Uint8Array | JWTVerifyGetKey =
    config.mode === "jwks"
      ? keysOrUnavailable(
          createRemoteJWKSet(config.jwksUrl, {
            cacheMaxAge: 10 * 60_000,
            cooldownDuration: 30_000,
            timeoutDuration: config.jwksTimeoutMs ?? 5_000,
          }),
        )
      : new TextEncoder().encode(config.secret);
  const options = {
    algorithms: config.mode === "jwks" ? JWKS_ALGORITHMS : SECRET_ALGORITHMS,
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds ?? 5,
    // jose requires `iat` for this: a token that does not say when it was issued is refused.
    maxTokenAge: config.maxTokenAgeSeconds ?? 86_400,
    requiredClaims: ["exp", "sub", "iat"],
  };
  return async (token) => {
    try {
      // jose's overloads differ for a key and a key set; both take the same options.
      return (await jwtVerify(token, key as Uint8Array, options)).payload;
    } catch (error) {
      if (error instanceof KeysUnavailableError) throw error;
      // jose's reason (expired, bad signature, …) is not worth telling a caller apart.
      throw new InvalidTokenError("Invalid or expired token.");
    }
  };
}

/**
 * The key set answers with a key, or says no key matches the token (a 401); any other failure
 * (refused, timed out, not a key set) means the keys cannot be had, whatever the token.
 * Keys fetched before stay in jose's cache, so known keys keep working while the endpoint is down.
 */
function keysOrUnavailable(getKey: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await getKey(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey) throw error;
      if (error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeysUnavailableError("The identity provider's keys cannot be fetched.", {
        cause: error,
      });
    }
  };
}

/** The claims the API stores: a token whose claims could not be stored as they are is refused. */
const claims = z.object({
  sub: text(MAX_SUBJECT_LENGTH).min(1),
  email: email.optional(),
  email_verified: z.boolean().optional().catch(undefined),
  name: text(200).optional(),
  picture: imageUrl.optional(),
  image: imageUrl.optional(),
});

/** Providers send absent claims as empty strings too. */
function withoutEmptyStrings(payload: JWTPayload): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== ""));
}

function toIdentity(payload: JWTPayload): Identity {
  const parsed = claims.safeParse(withoutEmptyStrings(payload));
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const claim = String(issue?.path[0] ?? "sub");
    if (claim === "sub") throw new InvalidTokenError("Token subject is missing or invalid.");
    throw new InvalidTokenError(`Token claim '${claim}' is invalid: ${issue?.message}`);
  }
  const { sub, email, email_verified, name, picture, image } = parsed.data;
  return {
    userId: sub,
    // Addresses are unique without regard to case; they are kept lowercased (ASCII only, so
    // the length does not change).
    email: email?.toLowerCase(),
    emailVerified: email_verified,
    name,
    image: picture ?? image,
    expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : undefined,
  };
}

/** The token in an `Authorization: Bearer <token>` header, if there is one. */
export function bearerToken(header: string | undefined): string | undefined {
  // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header ?? "");
  return match?.[1];
}

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { workspaceRoot } from "@tasks/db";

/**
 * The HS256 secret used in development when no auth is configured: generated
 * once and kept under `.data/`, so tokens minted by `pnpm token` keep working
 * across restarts.
 */
export function developmentSecret(path = join(workspaceRoot(), ".data", "dev-jwt-secret")): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, secret, { mode: 0o600 });
    return secret;
  }
}

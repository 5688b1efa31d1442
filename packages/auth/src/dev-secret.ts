import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { workspaceRoot } from "@tasks/db/embedded";

/**
 * A secret for development, generated once into `.data/<name>` (never committed)
 * and read back afterwards, so that what it signs stays valid across restarts.
 */
export function developmentSecret(name: string, root = workspaceRoot()): string {
  const path = join(root, ".data", name);
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    const secret = randomBytes(32).toString("base64url");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, secret, { mode: 0o600 });
    return secret;
  }
}

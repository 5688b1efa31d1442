/** Test support shared by the suites that drive a real browser or start real servers. */
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

/** Debian's Chromium (Playwright cannot download browsers here); `CHROMIUM_PATH` overrides it. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Browser tests skip where Chromium is missing, except in CI, which installs it and never skips. */
export const browserMissing = !existsSync(chromiumPath) && !process.env.CI;

export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
    ],
  });
}

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/**
 * The built web app in Chromium, against the real API server on a fresh database: both run as
 * they do in production (`next start`, `node apps/server/dist/main.js`), on free ports. Turbo
 * builds both first: `@tasks/web#test` depends on this package's `build` and on `^build`, which
 * covers `@tasks/server` because it is a devDependency here. The server runs from its bundle, as
 * in production, rather than from source through tsx.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase, testServerUrl } from "@tasks/db/testing";
import { browserMissing, freePort, launchChromium } from "@tasks/db/testing/browser";
import { SignJWT } from "jose";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApiClient } from "../src/lib/api.ts";
import { type Service, startService } from "./processes.ts";

const SECRET = "web-test-secret-that-is-long-enough-for-hs256";
const webDir = join(import.meta.dirname, "..");
const serverMain = join(webDir, "../server/dist/main.js");
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");

/** Turbo builds both before this test; run on its own, it says what is missing. */
function assertBuilt(path: string, pkg: string) {
  if (!existsSync(path)) throw new Error(`${pkg} is not built: run pnpm --filter ${pkg} build`);
}

function signToken(sub: string, expiresAt: string | number = "5m") {
  return new SignJWT({ email: `${sub}@example.com` })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(SECRET));
}

describe.skipIf(browserMissing)("the web app in a browser", () => {
  let database: TestDatabase | undefined;
  let api: Service | undefined;
  let web: Service | undefined;
  let browser: Browser | undefined;
  let apiUrl: string;
  let webUrl: string;
  let page: Page;

  beforeAll(async () => {
    assertBuilt(serverMain, "@tasks/server");
    assertBuilt(join(webDir, ".next/BUILD_ID"), "@tasks/web");
    const [apiPort, webPort] = await Promise.all([freePort(), freePort()]);
    const apiOrigin = `http://127.0.0.1:${apiPort}`;
    apiUrl = `${apiOrigin}/trpc`;
    webUrl = `http://127.0.0.1:${webPort}`;

    database = await createTestDatabase();
    api = await startService("API server", [serverMain], {
      env: {
        ...process.env,
        PORT: String(apiPort),
        HOST: "127.0.0.1",
        DATABASE_URL: database.url,
        // The embedded test database is a single session: a pool would interleave statements.
        DATABASE_POOL_MAX: testServerUrl() ? "4" : "1",
        AUTH_JWT_SECRET: SECRET,
        // Set empty so that a developer's .env cannot reconfigure token checks.
        AUTH_JWKS_URL: "",
        AUTH_ISSUER: "",
        AUTH_AUDIENCE: "",
        CORS_ORIGINS: webUrl,
        LOG_LEVEL: "silent",
      },
      readyUrl: `${apiOrigin}/health`,
    });
    web = await startService(
      "Next.js",
      [nextBin, "start", "-p", String(webPort), "-H", "127.0.0.1"],
      {
        cwd: webDir,
        env: {
          ...process.env,
          NODE_ENV: "production",
          NEXT_TELEMETRY_DISABLED: "1",
          API_URL: apiUrl,
        },
        readyUrl: webUrl,
      },
    );
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await api?.stop();
    await database?.drop();
  });

  beforeEach(async () => {
    // A page of its own per test: its own sessionStorage, so its own signed-in user.
    page = await (browser as Browser).newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(webUrl);
  });

  afterEach(async () => {
    await page.context().close();
  });

  async function signIn(token: string) {
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  async function addTask(title: string, priority: "Low" | "Medium" | "High") {
    const form = page.getByRole("form", { name: "New task" });
    await form.getByLabel("Title").fill(title);
    await form.getByLabel("Priority").selectOption({ label: priority });
    await form.getByRole("button", { name: "Add task" }).click();
    await page.getByRole("checkbox", { name: title }).waitFor();
  }

  /** The listed tasks, top to bottom. */
  function listedTasks() {
    return page
      .getByRole("list", { name: "Tasks" })
      .getByRole("checkbox")
      .evaluateAll((boxes: HTMLInputElement[]) =>
        boxes.map((box) => ({ title: box.labels?.[0]?.textContent, completed: box.checked })),
      );
  }

  function stats() {
    return page.getByRole("status", { name: "Stats" }).textContent();
  }

  it("signs in with a token, manages tasks, and finds them again after a reload", async () => {
    await signIn(await signToken("alice"));
    await page.getByText("Signed in as alice@example.com").waitFor();
    await page.getByText("No tasks yet.").waitFor();

    await addTask("Buy milk", "Low");
    await addTask("Write the report", "High");
    await expect.poll(listedTasks).toEqual([
      { title: "Write the report", completed: false },
      { title: "Buy milk", completed: false },
    ]);
    await expect.poll(stats).toBe("2 tasks · 0 done · 2 open");

    await page.getByRole("checkbox", { name: "Buy milk" }).check();
    await expect.poll(stats).toBe("2 tasks · 1 done · 1 open");
    await page.getByRole("button", { name: "Delete Write the report" }).click();
    await expect.poll(listedTasks).toEqual([{ title: "Buy milk", completed: true }]);
    await expect.poll(stats).toBe("1 task · 1 done · 0 open");

    await page.reload();
    await page.getByText("Signed in as alice@example.com").waitFor();
    await expect.poll(listedTasks).toEqual([{ title: "Buy milk", completed: true }]);
    await expect.poll(stats).toBe("1 task · 1 done · 0 open");
  });

  it("shows another user none of the first one's tasks", async () => {
    const owner = await signToken("owner");
    await createApiClient(apiUrl, owner).task.create.mutate({ title: "Owner's secret" });
    await signIn(owner);
    await expect.poll(listedTasks).toEqual([{ title: "Owner's secret", completed: false }]);

    await page.getByRole("button", { name: "Sign out" }).click();
    await signIn(await signToken("other"));
    await page.getByText("Signed in as other@example.com").waitFor();
    await page.getByText("No tasks yet.").waitFor();
    await expect.poll(stats).toBe("0 tasks · 0 done · 0 open");
  });

  it("loads the next page of tasks on demand", async () => {
    const token = await signToken("pager");
    const client = createApiClient(apiUrl, token);
    for (let n = 1; n <= 21; n++) await client.task.create.mutate({ title: `Task ${n}` });
    await signIn(token);

    await expect.poll(async () => (await listedTasks()).length).toBe(20);
    await page.getByRole("button", { name: "Load more" }).click();
    await expect.poll(async () => (await listedTasks()).at(-1)?.title).toBe("Task 1");
    expect((await listedTasks()).length).toBe(21);
    expect(await page.getByRole("button", { name: "Load more" }).count()).toBe(0);
  });

  it("returns to sign-in with the API's message when the token is expired", async () => {
    await signIn(await signToken("late", Math.floor(Date.now() / 1000) - 60));
    await expect
      .poll(() => page.getByRole("form", { name: "Sign in" }).getByRole("alert").textContent())
      .toBe("Invalid or expired token.");
    await page.getByLabel("Token").waitFor();
  });
});

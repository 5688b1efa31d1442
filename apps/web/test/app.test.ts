/**
 * The built web app in Chromium, as people use it, in both deployments: next to the API server
 * (`next start` and the bundled `apps/server/dist/main.js`), and alone, serving the API from its
 * own route handler. Each runs on a fresh database, on free ports. Turbo builds both apps first
 * (`@tasks/web#test` depends on `build` and `^build`; `@tasks/server` is a devDependency here).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import {
  appDatabaseEnv,
  createTestDatabase,
  query,
  type TestDatabase,
  testServerUrl,
} from "@tasks/db/testing";
import { browserMissing, freePort, launchChromium } from "@tasks/db/testing/browser";
import { UnsecuredJWT } from "jose";
import type { Request, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiTokenSource } from "../src/auth/api-token.ts";
import { createApiClient } from "../src/trpc/api-client.ts";
import {
  addTask,
  apiClient,
  type Browsers,
  countRows,
  currentToken,
  type Deployment,
  editTask,
  listedTasks,
  openAgain,
  PASSWORD,
  type Person,
  rowsOf,
  saved,
  screenshot,
  serverRenderedHtml,
  sessionCookie,
  settled,
  signIn,
  signUp,
  stats,
  titles,
  watchListing,
} from "./journey.ts";
import { type Service, startService } from "./processes.ts";
import { screenJourney } from "./screen-journey.ts";

const webDir = join(import.meta.dirname, "..");
const serverMain = join(webDir, "../server/dist/main.js");
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");
const BETTER_AUTH_SECRET = "web-test-better-auth-secret-long-enough";
// The embedded test database serves one connection's exchange at a time; a small pool is enough.
const POOL_MAX = testServerUrl() ? "4" : "2";
/** How long a live stream of the route-handler deployment lasts (LIVE_STREAM_MAX_SECONDS). */
const STREAM_MAX_SECONDS = 15;
/** A request for a page of tasks or the counts: what a refetch asks for. */
const REFETCH = /\/task\.(list|stats)\b/;
const LIVE_STREAM = /\/task\.changes\b/;

/** Turbo builds both before this test; run on its own, it says what is missing. */
function assertBuilt(path: string, pkg: string) {
  if (!existsSync(path)) throw new Error(`${pkg} is not built: run pnpm --filter @tasks/web test`);
}

function startWeb(port: number, env: Record<string, string>): Promise<Service> {
  return startService("Next.js", [nextBin, "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: webDir,
    env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", ...env },
    readyUrl: `http://127.0.0.1:${port}/sign-in`,
  });
}

interface World {
  deployment: Deployment;
  /** Opens browser contexts whose requests are recorded in `traffic`. */
  browsers: Browsers;
  /** Every URL the browser has asked for, and every bearer token it has sent. */
  traffic: { urls: string[]; tokens: Set<string> };
  /** Everything the servers have written, from their start. */
  logs(): string;
  /** The API server, where there is one. */
  api?: Service;
  /** Stops the API server, runs `whileDown`, and starts it again on the same port. */
  restartApi?(whileDown: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** The web app and the API server, sharing one database. */
async function startStandalone(): Promise<World> {
  assertBuilt(serverMain, "@tasks/server");
  const [apiPort, webPort] = await Promise.all([freePort(), freePort()]);
  const webUrl = `http://127.0.0.1:${webPort}`;
  const apiOrigin = `http://127.0.0.1:${apiPort}`;
  const database = await createTestDatabase();
  const startApi = () =>
    startService("API server", [serverMain], {
      env: {
        ...process.env,
        NODE_ENV: "production",
        PORT: String(apiPort),
        HOST: "127.0.0.1",
        ...appDatabaseEnv(database.url),
        DATABASE_POOL_MAX: POOL_MAX,
        // The web app's Better Auth is the identity provider, as in production.
        AUTH_JWKS_URL: `${webUrl}/api/auth/jwks`,
        AUTH_ISSUER: webUrl,
        AUTH_AUDIENCE: webUrl,
        AUTH_JWT_SECRET: "",
        // An account deleted in the web app is refused by this other process within a second.
        AUTH_USER_CACHE_SECONDS: "1",
        CORS_ORIGINS: webUrl,
        // Everything it would log, read by a test: no line may hold a token.
        LOG_LEVEL: "trace",
      },
      readyUrl: `${apiOrigin}/health`,
    });
  const services: Service[] = [];
  // Every API server started, the restarted one too: each one's log is read.
  const apis: Service[] = [];
  try {
    apis.push(await startApi());
    services.push(
      apis[0] as Service,
      await startWeb(webPort, {
        ...appDatabaseEnv(database.url),
        DATABASE_POOL_MAX: POOL_MAX,
        BETTER_AUTH_SECRET,
        BETTER_AUTH_URL: webUrl,
        API_URL: `${apiOrigin}/trpc`,
      }),
    );
  } catch (error) {
    await stopAll(services, database);
    throw error;
  }
  const started = await world(
    { webUrl, apiUrl: `${apiOrigin}/trpc`, databaseUrl: database.url, artifacts: "standalone" },
    services,
    database,
    () => [...apis, ...services.slice(1)].map((service) => service.output()).join("\n"),
  );
  return Object.assign(started, {
    api: services[0],
    async restartApi(whileDown: () => Promise<void>) {
      await started.api?.stop();
      await whileDown();
      const api = await startApi();
      apis.push(api);
      started.api = services[0] = api;
    },
  });
}

/** The web app alone: the API is its own route handler, `/api/trpc`. */
async function startRouteHandler(): Promise<World> {
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  const database = await createTestDatabase();
  let web: Service;
  try {
    web = await startWeb(webPort, {
      ...appDatabaseEnv(database.url),
      DATABASE_POOL_MAX: POOL_MAX,
      BETTER_AUTH_SECRET,
      BETTER_AUTH_URL: webUrl,
      // Unset in production: the app's own route.
      API_URL: "",
      LIVE_STREAM_MAX_SECONDS: String(STREAM_MAX_SECONDS),
    });
  } catch (error) {
    await database.drop();
    throw error;
  }
  return world(
    { webUrl, apiUrl: "/api/trpc", databaseUrl: database.url, artifacts: "route-handler" },
    [web],
    database,
    () => web.output(),
  );
}

async function world(
  deployment: Omit<Deployment, "artifacts"> & { artifacts: string },
  services: Service[],
  database: TestDatabase,
  logs: () => string,
): Promise<World> {
  const browser = await launchChromium();
  const traffic = { urls: [] as string[], tokens: new Set<string>() };
  return {
    deployment: { ...deployment, artifacts: join(webDir, "test-results", deployment.artifacts) },
    browsers: {
      async newContext(options) {
        const context = await browser.newContext(options);
        context.on("request", (request) => {
          traffic.urls.push(request.url());
          request.allHeaders().then(
            ({ authorization }) => {
              const token = authorization?.match(/^Bearer (.+)$/)?.[1];
              if (token) traffic.tokens.add(token);
            },
            () => {},
          );
        });
        return context;
      },
    },
    traffic,
    logs,
    async stop() {
      await browser.close();
      await stopAll(services, database);
    },
  };
}

async function stopAll(services: Service[], database: TestDatabase) {
  for (const service of services.reverse()) await service.stop();
  await database.drop();
}

/** The whole journey, one test per behaviour, against one deployment. */
function journey(
  start: () => Promise<World>,
  more?: (world: () => World, person: () => Person) => void,
) {
  let w: World;
  let d: Deployment;
  let alice: Person;
  let bob: Person;

  beforeAll(async () => {
    assertBuilt(join(webDir, ".next/BUILD_ID"), "@tasks/web");
    w = await start();
    d = w.deployment;
  });
  afterAll(() => w?.stop());

  it("two people sign up, each in a browser of their own", async () => {
    alice = await signUp(w.browsers, d, "Alice");
    bob = await signUp(w.browsers, d, "Bob");
    await expect.poll(() => alice.page.getByText("Alice", { exact: true }).isVisible()).toBe(true);
  });

  it("each creates tasks with a title, a description, a priority and a due date", async () => {
    await addTask(alice.page, {
      title: "Buy milk",
      description: "Semi-skimmed",
      priority: "Low",
      due: "2030-05-01",
    });
    await addTask(alice.page, { title: "Write the report", priority: "High" });
    await addTask(alice.page, { title: "Call the plumber" });
    await addTask(bob.page, { title: "Bob's secret plan", priority: "High" });
    await settled(alice.page);
    expect(await listedTasks(alice.page)).toEqual([
      { title: "Call the plumber", completed: false, details: "Medium" },
      { title: "Write the report", completed: false, details: "High" },
      { title: "Buy milk", completed: false, details: "LowDue 05/01/2030" },
    ]);
    await expect.poll(() => alice.page.getByText("Semi-skimmed").isVisible()).toBe(true);
    await expect.poll(() => stats(alice.page)).toBe("3 tasks · 0 done · 3 open");
    await expect.poll(() => stats(bob.page)).toBe("1 task · 0 done · 1 open");
  });

  it("each sees only their own tasks, in the page and through the API", async () => {
    expect(await titles(bob.page)).toEqual(["Bob's secret plan"]);
    expect(await titles(alice.page)).not.toContain("Bob's secret plan");
    const bobsApi = apiClient(d, await currentToken(bob));
    const alicesApi = apiClient(d, await currentToken(alice));
    const [bobsTask] = (await bobsApi.task.list.query()).items;
    await expect(alicesApi.task.byId.query({ id: bobsTask?.id ?? "" })).rejects.toMatchObject({
      data: { code: "NOT_FOUND" },
    });
    expect((await alicesApi.task.list.query()).items.map((task) => task.title)).toEqual([
      "Call the plumber",
      "Write the report",
      "Buy milk",
    ]);
  });

  it("the server renders the first page with the user's tasks in the HTML", async () => {
    const html = await serverRenderedHtml(alice, d);
    for (const title of ["Call the plumber", "Write the report", "Buy milk"]) {
      expect(html).toContain(title);
    }
    expect(html).toContain("3 tasks · 0 done · 3 open");
    expect(html).not.toContain("Bob&#x27;s secret plan");
    expect(html).not.toContain("Bob's secret plan");
  });

  it("edits in place, completes and deletes, and the counts follow", async () => {
    await editTask(alice.page, "Call the plumber", {
      title: "Call the electrician",
      description: "Before Friday",
      priority: "High",
    });
    await alice.page.getByRole("checkbox", { name: "Buy milk" }).check();
    await alice.page.getByRole("button", { name: "Delete Write the report" }).click();
    // Gone from the list at once; deleted for good once its undo window is over.
    await alice.page.getByRole("button", { name: "Undo deleting Write the report" }).waitFor();
    await expect
      .poll(() => countRows(d, "tasks WHERE title = 'Write the report'"), { timeout: 10_000 })
      .toBe(0);
    await settled(alice.page);
    await expect
      .poll(() => listedTasks(alice.page))
      .toEqual([
        { title: "Call the electrician", completed: false, details: "High" },
        { title: "Buy milk", completed: true, details: "LowDue 05/01/2030" },
      ]);
    await alice.page.getByText("Before Friday").waitFor();
    await expect.poll(() => stats(alice.page)).toBe("2 tasks · 1 done · 1 open");
    await screenshot(alice.page, d, "tasks-desktop");
  });

  it("a reload keeps everything", async () => {
    await alice.page.reload();
    await expect
      .poll(() => listedTasks(alice.page))
      .toEqual([
        { title: "Call the electrician", completed: false, details: "High" },
        { title: "Buy milk", completed: true, details: "LowDue 05/01/2030" },
      ]);
    await expect.poll(() => stats(alice.page)).toBe("2 tasks · 1 done · 1 open");
  });

  it("filters by status and priority, and searches", async () => {
    const filters = alice.page.getByRole("search", { name: "Filter tasks" });
    await filters.getByLabel("Open").check();
    await expect.poll(() => titles(alice.page)).toEqual(["Call the electrician"]);
    await filters.getByLabel("Completed").check();
    await expect.poll(() => titles(alice.page)).toEqual(["Buy milk"]);
    await filters.getByLabel("All").check();
    await filters.getByLabel("Filter by priority").selectOption({ label: "Low" });
    await expect.poll(() => titles(alice.page)).toEqual(["Buy milk"]);
    await filters.getByLabel("Filter by priority").selectOption({ label: "Any" });
    await filters.getByLabel("Search").fill("electric");
    await expect.poll(() => titles(alice.page)).toEqual(["Call the electrician"]);
    await filters.getByLabel("Search").fill("nothing like this");
    await alice.page.getByText("No tasks match these filters.").waitFor();
    await filters.getByLabel("Search").fill("");
    await expect.poll(() => titles(alice.page)).toHaveLength(2);
  });

  it("loads more tasks on the cursor", async () => {
    const api = apiClient(d, await currentToken(bob));
    for (let n = 1; n <= 21; n++) await api.task.create.mutate({ title: `Errand ${n}` });
    await bob.page.reload();
    await expect.poll(async () => (await titles(bob.page)).length).toBe(20);
    await bob.page.getByRole("button", { name: "Load more" }).click();
    await expect.poll(async () => (await titles(bob.page)).at(-1)).toBe("Bob's secret plan");
    expect(await titles(bob.page)).toHaveLength(22);
    expect(await bob.page.getByRole("button", { name: "Load more" }).count()).toBe(0);
  });

  it("a change the API refuses is rolled back, with a message", async () => {
    // Deleted meanwhile elsewhere (another tab, another device), before the page has heard of
    // it: its live stream is held back, so the page still shows the task.
    const held: Route[] = [];
    await alice.page.route(LIVE_STREAM, (route) => {
      held.push(route);
    });
    await alice.page.reload();
    await alice.page.getByRole("button", { name: "Edit Buy milk" }).waitFor();
    const api = apiClient(d, await currentToken(alice));
    const milk = (await api.task.list.query({ search: "milk" })).items[0];
    await api.task.delete.mutate({ id: milk?.id ?? "" });
    await alice.page.getByRole("button", { name: "Edit Buy milk" }).click();
    const form = alice.page.getByRole("form", { name: "Edit Buy milk" });
    await form.getByLabel("Title").fill("Buy oat milk");
    await form.getByRole("button", { name: "Save" }).click();
    await expect
      .poll(() => alice.page.getByRole("main").getByRole("alert").textContent())
      .toBe("The change was not saved: Not found.Dismiss");
    // Put back as it was, then gone once the list is fresh again: it no longer exists.
    await expect.poll(() => titles(alice.page)).toEqual(["Call the electrician"]);
    await alice.page.getByRole("button", { name: "Dismiss" }).click();
    expect(await alice.page.getByRole("main").getByRole("alert").count()).toBe(0);
    for (const route of held) await route.continue();
    await alice.page.unroute(LIVE_STREAM);
  });

  it("is usable with the keyboard alone", async () => {
    const page = bob.page;
    await page.reload();
    await page.getByRole("form", { name: "New task" }).getByLabel("Title").focus();
    await page.keyboard.type("Typed, not clicked");
    await page.keyboard.press("Tab"); // Priority
    await page.keyboard.press("ArrowDown"); // Medium → High
    await page.keyboard.press("Shift+Tab"); // Back to the title
    await page.keyboard.press("Enter"); // Submits the form
    const box = page.getByRole("checkbox", { name: "Typed, not clicked" });
    await saved(page, "Typed, not clicked");
    await settled(page);
    expect((await listedTasks(page))[0]).toEqual({
      title: "Typed, not clicked",
      completed: false,
      details: "High",
    });
    // Space ticks the box; Enter opens the editor, Escape closes it, focus goes back.
    await box.focus();
    await page.keyboard.press("Space");
    await expect.poll(() => box.isChecked()).toBe(true);
    await page.keyboard.press("Tab"); // Edit
    await page.keyboard.press("Enter");
    await page.keyboard.press("Escape");
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("aria-label")))
      .toBe("Edit Typed, not clicked");
    await page.keyboard.press("Enter");
    await page.keyboard.press("ControlOrMeta+a");
    await page.keyboard.type("Typed and renamed");
    await page.keyboard.press("Enter");
    // Saved, not only shown: the rename is answered, and the API has both changes, before the
    // page reloads.
    await saved(page, "Typed and renamed");
    await settled(page);
    const api = apiClient(d, await currentToken(bob));
    await expect
      .poll(async () => {
        const [first] = (await api.task.list.query()).items;
        return { title: first?.title, completed: first?.completed };
      })
      .toEqual({ title: "Typed and renamed", completed: true });
    await page.reload();
    await expect
      .poll(async () => (await listedTasks(page))[0])
      .toEqual({
        title: "Typed and renamed",
        completed: true,
        details: "High",
      });
  });

  it("works on a phone-sized screen", async () => {
    await alice.page.setViewportSize({ width: 390, height: 844 });
    await alice.page.reload();
    await alice.page.getByRole("checkbox", { name: "Call the electrician" }).waitFor();
    const overflow = await alice.page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(alice.page, d, "tasks-phone");
    await alice.page.setViewportSize({ width: 1200, height: 900 });
  });

  it("replaces a refused token without the user noticing", async () => {
    // A token the API refuses (signed by no one), then the real one from Better Auth.
    const cookie = (await alice.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
    const fetched: string[] = [];
    const tokens = createApiTokenSource(async () => {
      if (fetched.push("token") === 1) {
        return new UnsecuredJWT({}).setSubject("nobody").setExpirationTime("10m").encode();
      }
      const response = await fetch(`${d.webUrl}/api/auth/token`, { headers: { cookie } });
      return ((await response.json()) as { token: string }).token;
    });
    const api = createApiClient(new URL(d.apiUrl, d.webUrl).toString(), tokens);
    expect(await api.task.stats.query()).toMatchObject({ total: expect.any(Number) });
    expect(fetched).toHaveLength(2);

    // A live stream too: refused, it subscribes again with a fresh token.
    fetched.length = 0;
    tokens.expire();
    const first = await new Promise<unknown>((resolve, reject) => {
      const subscription = api.task.changes.subscribe(undefined, {
        onData(event) {
          subscription.unsubscribe();
          resolve(event.data);
        },
        onError: reject,
      });
    });
    expect(first).toEqual({ kind: "refetch" });
    expect(fetched).toHaveLength(2);
  });

  it("shows a change made in another context of the user within a second, and in no one else's", async () => {
    const other = await openAgain(w.browsers, d, alice);
    try {
      const { page } = other;
      await page.getByRole("search", { name: "Filter tasks" }).getByLabel("Open").check();
      await settled(page);
      expect(await titles(page)).toEqual(["Call the electrician"]);
      const bobsStats = await stats(bob.page);
      // From here on every change is merged as it comes: nothing is fetched again.
      const refetches: string[] = [];
      page.on("request", (request) => {
        if (REFETCH.test(request.url())) refetches.push(request.url());
      });
      const title = "Water the plants";
      const listed = await watchListing(page, title);
      const listedForBob = (await watchListing(bob.page, title))().then(
        () => "listed",
        () => "page gone",
      );
      const form = alice.page.getByRole("form", { name: "New task" });
      await form.getByLabel("Title").fill(title);
      const madeAt = Date.now();
      await form.getByRole("button", { name: "Add task" }).click();
      const delay = (await listed()) - madeAt;
      console.info(`${d.artifacts}: a new task showed in the other context after ${delay} ms`);
      expect(delay).toBeLessThan(1000);
      // In the list's order (newest first), and counted.
      expect(await titles(page)).toEqual([title, "Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("Showing 2 of 2 tasks: open");

      // Ticked there: out of this list of open tasks; unticked: back in, in its place.
      await saved(alice.page, title);
      await alice.page.getByRole("checkbox", { name: title }).check();
      await expect.poll(() => titles(page)).toEqual(["Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("Showing 1 of 2 tasks: open");
      await alice.page.getByRole("checkbox", { name: title }).uncheck();
      await expect.poll(() => titles(page)).toEqual([title, "Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("Showing 2 of 2 tasks: open");
      // Renamed, then deleted there.
      await editTask(alice.page, title, { title: "Water the garden" });
      await expect.poll(() => titles(page)).toEqual(["Water the garden", "Call the electrician"]);
      // Hidden at once where it was deleted; gone elsewhere once its undo window is over.
      await alice.page.getByRole("button", { name: "Delete Water the garden" }).click();
      await expect.poll(() => titles(alice.page)).toEqual(["Call the electrician"]);
      await expect.poll(() => titles(page), { timeout: 10_000 }).toEqual(["Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("Showing 1 of 1 task: open");
      // The page that made the changes shows them once, as they are.
      await settled(alice.page);
      expect(await titles(alice.page)).toEqual(["Call the electrician"]);
      expect(await stats(alice.page)).toBe("1 task · 0 done · 1 open");
      expect(refetches).toEqual([]);

      // Bob, following his own changes all along, saw none of these.
      expect(await Promise.race([listedForBob, Promise.resolve("never listed")])).toBe(
        "never listed",
      );
      expect(await stats(bob.page)).toBe(bobsStats);
      expect(await titles(bob.page)).not.toContain(title);
    } finally {
      await other.context.close();
    }
  });

  // Carol's, between the other sign-ins: Better Auth allows 3 in 10 s from one address.
  screenJourney(() => w);

  it("signs out and in again; a wrong password gets a message and no session", async () => {
    const page = alice.page;
    await page.getByRole("link", { name: "Account" }).click();
    await page.getByText(alice.email).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(await sessionCookie(alice.context)).toBeUndefined();

    await signIn(page, d, alice.email, "not my password");
    await expect
      .poll(() => page.getByRole("main").getByRole("alert").textContent())
      .toBe("Wrong email or password.");
    expect(await sessionCookie(alice.context)).toBeUndefined();
    await page.goto(`${d.webUrl}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();

    await signIn(page, d, alice.email, PASSWORD);
    await expect.poll(() => titles(page)).toEqual(["Call the electrician"]);
    expect(await sessionCookie(alice.context)).toBeDefined();
  });

  it("deletes an account after confirmation: its JWT is refused and its tasks are gone", async () => {
    const page = bob.page;
    const oldToken = await currentToken(bob);
    const { id: bobId } = (await rowsOf(d, bob.email)) as { id: string };
    expect(await countRows(d, `tasks WHERE user_id = '${bobId}'`)).toBe(23);
    // Another window of Bob's, on the task screen, hears of the deletion and leaves it.
    const elsewhere = await openAgain(w.browsers, d, bob);

    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("button", { name: "Delete account" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete your account?" });
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await countRows(d, `auth_users WHERE id = '${bobId}'`)).toBe(1);

    await page.getByRole("button", { name: "Delete account" }).click();
    await dialog.getByLabel("Your password, to confirm").fill(PASSWORD);
    await dialog.getByRole("button", { name: "Delete my account" }).click();
    await page.getByText("Your account has been deleted.").waitFor();
    await elsewhere.page.getByText("Your account has been deleted.").waitFor();
    expect(new URL(elsewhere.page.url()).pathname).toBe("/sign-in");
    await elsewhere.context.close();

    await expect
      .poll(
        () =>
          apiClient(d, oldToken)
            .task.list.query()
            .then(
              () => "accepted",
              (error: { data?: { code?: string } }) => error.data?.code,
            ),
        { timeout: 5_000 },
      )
      .toBe("UNAUTHORIZED");
    expect(await countRows(d, `tasks WHERE user_id = '${bobId}'`)).toBe(0);
    expect(await countRows(d, `users WHERE id = '${bobId}'`)).toBe(0);
    expect(await countRows(d, `auth_users WHERE id = '${bobId}'`)).toBe(0);
    expect(await countRows(d, `auth_sessions WHERE user_id = '${bobId}'`)).toBe(0);
    // Alice is untouched.
    expect(await titles(alice.page)).toEqual(["Call the electrician"]);

    await signIn(page, d, bob.email, PASSWORD);
    await expect
      .poll(() => page.getByRole("main").getByRole("alert").textContent())
      .toBe("Wrong email or password.");
  });

  more?.(
    () => w,
    () => alice,
  );

  it("puts no token in any URL the browser asks for, nor in any line the servers log", () => {
    const { urls, tokens } = w.traffic;
    // Not vacuous: the pages sent tokens, and followed their changes.
    expect(tokens.size).toBeGreaterThan(1);
    expect(urls.filter((url) => LIVE_STREAM.test(url)).length).toBeGreaterThan(1);
    const holdingToken = (texts: string[]) =>
      texts.filter((text) => [...tokens].some((token) => text.includes(token)));
    expect(holdingToken(urls)).toEqual([]);
    const lines = w.logs().split("\n");
    expect(lines.length).toBeGreaterThan(1);
    expect(holdingToken(lines)).toEqual([]);
  });
}

describe.skipIf(browserMissing)("the web app next to the API server", () => {
  journey(startStandalone, (world, person) => {
    it("catches up by itself after the API server restarts: changes made while it was down and after", async () => {
      const { page, email } = person();
      const d = world().deployment;
      const refetches: string[] = [];
      const onRequest = (request: Request) => {
        if (REFETCH.test(request.url())) refetches.push(request.url());
      };
      page.on("request", onRequest);
      const { id: userId } = (await rowsOf(d, email)) as { id: string };
      await world().restartApi?.(async () => {
        // Written while no API server runs: straight into the database, as another program might.
        await query(
          d.databaseUrl,
          `INSERT INTO tasks (id, title, user_id, updated_at)
           VALUES (gen_random_uuid(), 'Made while the API was down', '${userId}', now())`,
        );
      });
      const api = apiClient(d, await currentToken(person()));
      const after = await api.task.create.mutate({ title: "Made after the restart" });
      await expect
        .poll(() => titles(page), { timeout: 20_000 })
        .toEqual(["Made after the restart", "Made while the API was down", "Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("3 tasks · 0 done · 3 open");
      // Resumed from its last event: nothing was fetched again.
      expect(refetches).toEqual([]);
      page.off("request", onRequest);

      const [down] = (await api.task.list.query({ search: "while the API was down" })).items;
      await api.task.delete.mutate({ id: down?.id ?? "" });
      await api.task.delete.mutate({ id: after.id });
      await expect.poll(() => titles(page)).toEqual(["Call the electrician"]);
    }, 60_000);

    it("says so, and offers to try again, when the API cannot be reached", async () => {
      const { page } = person();
      await world().api?.stop();
      await page.getByRole("search", { name: "Filter tasks" }).getByLabel("Open").check();
      await expect
        .poll(() => page.getByRole("main").getByRole("alert").textContent())
        .toBe(
          "The tasks could not be loaded: Could not reach the server. Check your connection and try again.",
        );
      await page.getByRole("button", { name: "Try again" }).waitFor();
    });
  });
});

describe.skipIf(browserMissing)("the web app alone, serving the API from a route handler", () => {
  journey(startRouteHandler, (world, person) => {
    it("ends each live stream after LIVE_STREAM_MAX_SECONDS; the page resumes from its last event", async () => {
      const { page } = person();
      const d = world().deployment;
      const refetches: string[] = [];
      const streams: Promise<Record<string, string>>[] = [];
      const onRequest = (request: Request) => {
        if (REFETCH.test(request.url())) refetches.push(request.url());
        if (LIVE_STREAM.test(request.url())) streams.push(request.allHeaders());
      };
      page.on("request", onRequest);
      const ended = await page.waitForEvent("requestfinished", {
        predicate: (request) => LIVE_STREAM.test(request.url()),
        timeout: (STREAM_MAX_SECONDS + 5) * 1000,
      });
      // Ended by the app, after the limit, from the first byte of its answer.
      const { responseStart, responseEnd } = ended.timing();
      expect(responseEnd - responseStart).toBeGreaterThan(STREAM_MAX_SECONDS * 1000 - 1000);
      expect(responseEnd - responseStart).toBeLessThan(STREAM_MAX_SECONDS * 1000 + 5000);
      // Made before the browser reconnects (it waits a few seconds): shown all the same.
      const api = apiClient(d, await currentToken(person()));
      const made = await api.task.create.mutate({ title: "Made between two streams" });
      await expect
        .poll(() => titles(page))
        .toEqual(["Made between two streams", "Call the electrician"]);
      await expect.poll(() => stats(page)).toBe("2 tasks · 0 done · 2 open");
      const reconnected = await streams.at(-1);
      expect(reconnected?.["last-event-id"]).toMatch(/^\d+$/);
      expect(refetches).toEqual([]);
      page.off("request", onRequest);

      await api.task.delete.mutate({ id: made.id });
      await expect.poll(() => titles(page)).toEqual(["Call the electrician"]);
    }, 60_000);

    it("serves the REST routes and their document under /api too", async () => {
      const { webUrl } = world().deployment;
      const token = await currentToken(person());
      const rest = (path: string, init: RequestInit = {}) =>
        fetch(`${webUrl}/api${path}`, {
          ...init,
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            ...init.headers,
          },
        });
      const listed = (await (await rest("/tasks")).json()) as { items: { title: string }[] };
      expect(listed.items.map((task) => task.title)).toEqual(["Call the electrician"]);
      const created = await rest("/tasks", {
        method: "POST",
        body: JSON.stringify({ title: "Via REST", dueAt: "2031-01-01T00:00:00.000Z" }),
      });
      expect(created.status).toBe(200);
      const task = (await created.json()) as { id: string; dueAt: string };
      expect(task.dueAt).toBe("2031-01-01T00:00:00.000Z");
      const put = await rest(`/tasks/${task.id}`, {
        method: "PUT",
        body: JSON.stringify({ completed: true }),
      });
      expect(await put.json()).toMatchObject({ title: "Via REST", completed: true });
      expect((await rest("/tasks/01890a5d-ac96-774b-bcce-b302099a8057")).status).toBe(404);
      expect((await rest("/tasks", { method: "POST", body: "{}" })).status).toBe(400);
      const tooLarge = await rest("/tasks", {
        method: "POST",
        body: JSON.stringify({ title: "x".repeat(200 * 1024) }),
      });
      expect(tooLarge.status).toBe(413);
      const anonymous = await fetch(`${webUrl}/api/tasks`);
      expect(anonymous.status).toBe(401);
      // The change stream, as plain server-sent events, resumed from an event id.
      const abort = new AbortController();
      const events = await rest("/tasks/events", {
        headers: { "last-event-id": "0" },
        signal: abort.signal,
      });
      expect(events.status).toBe(200);
      expect(events.headers.get("content-type")).toBe("text/event-stream");
      let streamed = "";
      const reading = (async () => {
        const decoder = new TextDecoder();
        try {
          for await (const chunk of events.body as unknown as AsyncIterable<Uint8Array>)
            streamed += decoder.decode(chunk);
        } catch {
          // aborted
        }
      })();
      await rest(`/tasks/${task.id}`, { method: "DELETE" });
      await expect
        .poll(() => streamed)
        .toContain(`event: deleted\ndata: {"kind":"deleted","id":"${task.id}"}`);
      abort.abort();
      await reading;
      expect((await fetch(`${webUrl}/api/tasks/events`)).status).toBe(401);
      const document = await fetch(`${webUrl}/api/openapi.json`);
      expect(((await document.json()) as { openapi: string }).openapi).toBe("3.1.0");
    });

    it("limits calls per address without a valid token, and per user; the page says why", async () => {
      const { webUrl } = world().deployment;
      const call = (path: string, token: string) =>
        fetch(`${webUrl}/api/trpc/${path}`, { headers: { authorization: `Bearer ${token}` } });
      // Guessed tokens count against the address (RATE_LIMIT_ANONYMOUS_PER_MINUTE, 60).
      let guesses = 0;
      let refused: Response | undefined;
      while (!refused && guesses < 200) {
        const response = await call("task.stats", `guessed.token.${guesses++}`);
        if (response.status === 429) refused = response;
        else expect(response.status).toBe(401);
      }
      expect(guesses).toBeLessThanOrEqual(61);
      expect(refused?.headers.get("ratelimit-policy")).toBe('"ip";q=60;w=60');
      expect(refused?.headers.get("retry-after")).toMatch(/^\d+$/);

      // A batch of 20 calls costs 20: the user's 600 a minute are soon spent by a script.
      const token = await currentToken(person());
      const batch = `${Array.from({ length: 20 }, () => "task.stats").join(",")}?batch=1`;
      let batches = 0;
      let last: Response;
      do {
        last = await call(batch, token);
        batches++;
      } while (last.status === 200 && batches < 100);
      expect(last.status).toBe(429);
      expect(last.headers.get("ratelimit")).toMatch(/^"user";r=0;t=\d+$/);
      // A batch is refused while fewer calls than it has are left (the page's own calls count
      // too): spend those one by one, so that the page's next call is refused as well.
      let singles = 0;
      while ((await call("task.stats", token)).status === 200 && singles < 20) singles++;
      expect(singles).toBeLessThan(20);
      const { page } = person();
      // A search not made before: a new query, refused.
      await page.getByRole("search", { name: "Filter tasks" }).getByLabel("Search").fill("limited");
      await expect
        .poll(() => page.getByRole("main").getByRole("alert").allTextContents())
        .toContain(
          "The tasks could not be loaded: You are making requests too fast. Wait a minute and try again.",
        );
    });
  });
});

describe("starting in production", () => {
  it("refuses to start without its secret, base URL and database, one line each", async () => {
    const port = await freePort();
    const started = startWeb(port, {
      BETTER_AUTH_SECRET: "",
      BETTER_AUTH_URL: "",
      DATABASE_URL: "",
    });
    const error = await started.then(
      async (service) => {
        await service.stop();
        return "started";
      },
      (failure: Error) => failure.message,
    );
    expect(error).toContain("BETTER_AUTH_SECRET: required in production");
    expect(error).toContain("BETTER_AUTH_URL: required in production");
    expect(error).toContain("DATABASE_URL: required in production");
  });
});

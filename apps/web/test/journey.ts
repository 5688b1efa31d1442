/**
 * What people do with the web app, step by step in Chromium, shared by both deployments.
 * Every step drives the real app; checks of the database go through their own connection.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import type { AppRouter } from "@tasks/api";
import { query } from "@tasks/db/testing";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import superjson from "superjson";
import { expect } from "vitest";

export const PASSWORD = "a long and secret passphrase";

export interface Deployment {
  /** Where the web app is served. */
  webUrl: string;
  /** The tRPC endpoint its pages call: the API server, or the app's own route. */
  apiUrl: string;
  databaseUrl: string;
  /** Where screenshots go. */
  artifacts: string;
}

export interface Person {
  name: string;
  email: string;
  context: BrowserContext;
  page: Page;
}

/** What opens browser contexts: the browser, or a wrapper that watches their requests. */
export type Browsers = Pick<Browser, "newContext">;

/** A person with a browser of their own (cookies, storage), who signs up. */
export async function signUp(browser: Browsers, deployment: Deployment, name: string) {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 900 },
    locale: "en-US",
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const person: Person = {
    name,
    email: `${name.toLowerCase()}@example.com`,
    context,
    page,
  };
  await page.goto(`${deployment.webUrl}/`);
  // Signed out, the task screen sends people to sign in, which links to sign-up.
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(person.email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await expect.poll(() => stats(page)).toBe("0 tasks · 0 done · 0 open");
  await page.getByText("No tasks yet. Add one above.").waitFor();
  return person;
}

/**
 * The same person in another browser context (another window or device, signed in with the same
 * session), on the task screen once its live stream has begun: the stream's first event asks for
 * a refetch, and the refetch has been answered.
 */
export async function openAgain(
  browser: Browsers,
  deployment: Deployment,
  person: Person,
): Promise<Person> {
  const context = await browser.newContext({
    viewport: { width: 1200, height: 900 },
    locale: "en-US",
    storageState: await person.context.storageState(),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const refetched = page.waitForResponse((response) => /\/task\.list\b/.test(response.url()));
  await page.goto(`${deployment.webUrl}/`);
  await refetched;
  await settled(page);
  return { ...person, context, page };
}

/**
 * Starts watching `page` for a task titled `title` in its list, in the page itself (no polling
 * interval adds to the time); resolves once watching, to a function that resolves to when
 * (`Date.now()` in the page, the same clock as the test's) the task was listed.
 */
export async function watchListing(page: Page, title: string): Promise<() => Promise<number>> {
  const key = crypto.randomUUID();
  await page.evaluate(
    ({ title, key }) => {
      const page = window as unknown as { watches?: Record<string, Promise<number>> };
      page.watches ??= {};
      page.watches[key] = new Promise<number>((resolve) => {
        const listed = () =>
          [...document.querySelectorAll("ul[aria-label=Tasks] label")].some(
            (label) => label.textContent === title,
          );
        if (listed()) return resolve(Date.now());
        const observer = new MutationObserver(() => {
          if (!listed()) return;
          observer.disconnect();
          resolve(Date.now());
        });
        observer.observe(document.body, { childList: true, subtree: true, characterData: true });
      });
    },
    { title, key },
  );
  return () =>
    page.evaluate(
      (key) => (window as unknown as { watches: Record<string, Promise<number>> }).watches[key],
      key,
    ) as Promise<number>;
}

export function stats(page: Page) {
  return page.getByRole("status", { name: "Stats" }).textContent();
}

/** The listed tasks, top to bottom: title, done or not, and what the row shows besides. */
export function listedTasks(page: Page) {
  return page
    .getByRole("list", { name: "Tasks" })
    .getByRole("listitem")
    .evaluateAll((items) =>
      items.map((item) => ({
        title: item.querySelector("label")?.textContent ?? "",
        completed: item.querySelector<HTMLInputElement>("input[type=checkbox]")?.checked ?? false,
        details: item.querySelector(".task-meta")?.textContent?.replace(/EditDelete$/, "") ?? "",
      })),
    );
}

export function titles(page: Page) {
  return listedTasks(page).then((tasks) => tasks.map((task) => task.title));
}

interface NewTask {
  title: string;
  description?: string;
  priority?: "Low" | "Medium" | "High";
  due?: string;
}

export async function addTask(page: Page, task: NewTask) {
  const form = page.getByRole("form", { name: "New task" });
  await form.getByLabel("Title").fill(task.title);
  if (task.description) await form.getByLabel("Description").fill(task.description);
  if (task.priority) await form.getByLabel("Priority").selectOption({ label: task.priority });
  if (task.due) await form.getByLabel("Due").fill(task.due);
  await form.getByRole("button", { name: "Add task" }).click();
  await saved(page, task.title);
}

/** Shown at once, and then saved: the API has answered and the task can be changed. */
export async function saved(page: Page, title: string) {
  const box = page.getByRole("checkbox", { name: title });
  await box.waitFor();
  await expect.poll(() => box.isEnabled()).toBe(true);
}

/** Everything settled: no request of the page's client still in flight. */
export async function settled(page: Page) {
  await expect
    .poll(() => page.getByRole("region", { name: "Task list" }).getAttribute("aria-busy"))
    .toBe("false");
}

export async function editTask(page: Page, title: string, changes: NewTask) {
  await page.getByRole("button", { name: `Edit ${title}` }).click();
  const form = page.getByRole("form", { name: `Edit ${title}` });
  await form.getByLabel("Title").fill(changes.title);
  if (changes.description !== undefined) {
    await form.getByLabel("Description").fill(changes.description);
  }
  if (changes.priority) await form.getByLabel("Priority").selectOption({ label: changes.priority });
  if (changes.due !== undefined) await form.getByLabel("Due").fill(changes.due);
  await form.getByRole("button", { name: "Save" }).click();
  await page.getByRole("checkbox", { name: changes.title }).waitFor();
}

/** The Better Auth JWT this person's browser would send to the API now. */
export async function currentToken(person: Person): Promise<string> {
  return person.page.evaluate(async () => {
    const response = await fetch("/api/auth/token");
    return ((await response.json()) as { token: string }).token;
  });
}

/** A client of the API in this test process, as another program holding `token` would be. */
export function apiClient(deployment: Deployment, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: new URL(deployment.apiUrl, deployment.webUrl).toString(),
        transformer: superjson,
        headers: { authorization: `Bearer ${token}` },
      }),
    ],
  });
}

/** The HTML the server sends for the task screen, before any script runs. */
export async function serverRenderedHtml(person: Person, deployment: Deployment, path = "/") {
  const cookie = (await person.context.cookies())
    .map(({ name, value }) => `${name}=${value}`)
    .join("; ");
  const response = await fetch(`${deployment.webUrl}${path}`, { headers: { cookie } });
  return response.text();
}

export async function screenshot(page: Page, deployment: Deployment, name: string) {
  mkdirSync(deployment.artifacts, { recursive: true });
  await page.screenshot({ path: join(deployment.artifacts, `${name}.png`), fullPage: true });
}

/** The rules checked on every screen: WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];
const PHONE = { width: 390, height: 844 };

/**
 * The screen as it is now, at desktop and at phone width: no violation of WCAG 2.2 A or AA that
 * axe-core finds, and a screenshot of each (`<name>.png`, `<name>-phone.png`) kept as an artifact.
 */
export async function checkScreen(page: Page, deployment: Deployment, name: string) {
  const desktop = page.viewportSize();
  for (const [suffix, size] of [
    ["", desktop],
    ["-phone", PHONE],
  ] as const) {
    if (size) await page.setViewportSize(size);
    const { violations } = await new AxeBuilder({ page }).withTags(WCAG_AA).analyze();
    const found = violations.map(
      ({ id, help, nodes }) => `${id} (${help}): ${nodes.map((node) => node.target).join(", ")}`,
    );
    expect(found, `accessibility of ${name}${suffix}`).toEqual([]);
    await screenshot(page, deployment, `${name}${suffix}`);
  }
  if (desktop) await page.setViewportSize(desktop);
}

export async function signIn(page: Page, deployment: Deployment, email: string, password: string) {
  await page.goto(`${deployment.webUrl}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((cookie) => cookie.name.endsWith("session_token"));
}

/** Rows of one user in the database, straight from SQL. */
export async function rowsOf(deployment: Deployment, email: string) {
  const [user] = await query(
    deployment.databaseUrl,
    `SELECT id FROM auth_users WHERE email = '${email}'`,
  );
  return user;
}

export async function countRows(deployment: Deployment, sql: string): Promise<number> {
  const [row] = await query(deployment.databaseUrl, `SELECT count(*)::int AS n FROM ${sql}`);
  return Number(row?.n);
}

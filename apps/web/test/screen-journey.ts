/**
 * The task screen as a demanding person uses it: order kept however fast tasks are added, sorts,
 * filters in the address, undo, due dates in the reader's locale, and the accessibility rules on
 * every screen and state. Carol has an account of her own, so that nothing here depends on the
 * rest of the journey.
 */
import { query } from "@tasks/db/testing";
import type { Page } from "playwright-core";
import { expect, it } from "vitest";
import {
  apiClient,
  type Browsers,
  checkScreen,
  countRows,
  currentToken,
  type Deployment,
  editTask,
  listedTasks,
  PASSWORD,
  type Person,
  rowsOf,
  saved,
  serverRenderedHtml,
  sessionCookie,
  settled,
  signIn,
  signUp,
  stats,
  titles,
} from "./journey.ts";

const VIEWPORT = { width: 1200, height: 900 };
const day = (date: string) => new Date(`${date}T00:00:00.000Z`);

/** Today in `timeZone`, as YYYY-MM-DD, `offset` days away. */
function dayIn(timeZone: string, offset = 0) {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());
  const date = day(today);
  date.setUTCDate(date.getUTCDate() + offset);
  return date.toISOString().slice(0, 10);
}

/** The accessible name of what has the keyboard's focus (a checkbox's label, a button's name). */
function focused(page: Page) {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (element instanceof HTMLInputElement) return element.labels?.[0]?.textContent ?? "";
    return element?.getAttribute("aria-label") ?? element?.textContent ?? "";
  });
}

function search(page: Page) {
  return new URL(page.url()).search;
}

export function screenJourney(world: () => { deployment: Deployment; browsers: Browsers }) {
  const d = () => world().deployment;
  let carol: Person;
  // Created in this order: the newest first is dentist, rent, passport.
  const PASSPORT = "Renew the passport";
  const RENT = "Pay the rent";
  const DENTIST = "Book the dentist";

  it("signed out: sign-in and sign-up say what the app is, show the password rule, and focus an error", async () => {
    const context = await world().browsers.newContext({ viewport: VIEWPORT, locale: "en-US" });
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${d().webUrl}/`);
      await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
      await page.getByText("Tasks keeps your to-do list").waitFor();
      await checkScreen(page, d(), "sign-in");

      await page.getByRole("link", { name: "Create an account" }).click();
      await page.getByRole("heading", { level: 1, name: "Create an account" }).waitFor();
      const password = page.getByLabel("Password");
      const rule = await password.getAttribute("aria-describedby");
      expect(await page.locator(`#${rule}`).textContent()).toBe("At least 8 characters.");
      await checkScreen(page, d(), "sign-up");

      await signIn(page, d(), "nobody@example.com", "not a password of anyone");
      const alert = page.getByRole("main").getByRole("alert");
      await expect.poll(() => alert.textContent()).toBe("Wrong email or password.");
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.getAttribute("role")))
        .toBe("alert");
      await checkScreen(page, d(), "sign-in-error");
    } finally {
      await context.close();
    }
  });

  it("keeps tasks added quickly with Enter in the order they were added, after a reload too", async () => {
    carol = await signUp(world().browsers, d(), "Carol");
    const { page } = carol;
    await checkScreen(page, d(), "tasks-empty");
    const title = page.getByRole("form", { name: "New task" }).getByLabel("Title");
    const added = Array.from({ length: 8 }, (_, n) => `Quick ${n + 1}`);
    // As fast as the page takes them: no waiting for an answer between two.
    for (const name of added) {
      await title.fill(name);
      await title.press("Enter");
    }
    const newestFirst = added.toReversed();
    await expect.poll(() => titles(page)).toEqual(newestFirst);
    for (const name of added) await saved(page, name);
    await settled(page);
    await page.reload();
    await expect.poll(() => titles(page)).toEqual(newestFirst);
    const api = apiClient(d(), await currentToken(carol));
    const { items } = await api.task.list.query({ limit: 100 });
    expect(items.map((task) => task.title)).toEqual(newestFirst);
    for (const task of items) await api.task.delete.mutate({ id: task.id });
  });

  it("sorts by due date and priority; filters and order are in the address, through reload, Back and Forward", async () => {
    const { page } = carol;
    const api = apiClient(d(), await currentToken(carol));
    await api.task.create.mutate({ title: PASSPORT, priority: "LOW", dueAt: day("2030-01-15") });
    await api.task.create.mutate({ title: RENT, priority: "HIGH", dueAt: day("2030-02-01") });
    await api.task.create.mutate({ title: DENTIST });
    await page.goto(`${d().webUrl}/`);
    await expect.poll(() => titles(page)).toEqual([DENTIST, RENT, PASSPORT]);
    const filters = page.getByRole("search", { name: "Filter tasks" });

    await filters.getByLabel("Sort by").selectOption({ label: "Due date" });
    await expect.poll(() => titles(page)).toEqual([PASSPORT, RENT, DENTIST]);
    expect(search(page)).toBe("?sort=due");
    await filters.getByLabel("Sort by").selectOption({ label: "Priority" });
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST, PASSPORT]);
    expect(search(page)).toBe("?sort=priority");

    await page.getByRole("checkbox", { name: PASSPORT }).check();
    await saved(page, PASSPORT);
    await filters.getByLabel("Open").check();
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST]);
    await expect.poll(() => stats(page)).toBe("Showing 2 of 3 tasks: open");
    await filters.getByLabel("Filter by priority").selectOption({ label: "High" });
    await expect.poll(() => titles(page)).toEqual([RENT]);
    await expect.poll(() => stats(page)).toBe("Showing 1 of 3 tasks: open, high priority");
    expect(search(page)).toBe("?status=open&priority=high&sort=priority");

    // A reload, and the server's first page, honour the address.
    await page.reload();
    await expect.poll(() => titles(page)).toEqual([RENT]);
    await expect.poll(() => stats(page)).toBe("Showing 1 of 3 tasks: open, high priority");
    expect(await filters.getByLabel("Filter by priority").inputValue()).toBe("HIGH");
    expect(await filters.getByLabel("Sort by").inputValue()).toBe("priority");
    const html = await serverRenderedHtml(carol, d(), "/?status=open&priority=high&sort=priority");
    expect(html).toContain(RENT);
    expect(html).not.toContain(DENTIST);

    // Back undoes a filter, Forward does it again.
    await page.goBack();
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST]);
    expect(search(page)).toBe("?status=open&sort=priority");
    await page.goBack();
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST, PASSPORT]);
    await page.goForward();
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST]);

    // Typing replaces the address rather than adding to the history.
    await filters.getByLabel("Search").fill("rent");
    await expect.poll(() => titles(page)).toEqual([RENT]);
    await expect.poll(() => search(page)).toBe("?status=open&q=rent&sort=priority");
    await expect.poll(() => stats(page)).toBe("Showing 1 of 3 tasks: open, matching “rent”");

    // A link to the same address, opened elsewhere, shows the same.
    const shared = await world().browsers.newContext({
      viewport: VIEWPORT,
      locale: "en-US",
      storageState: await carol.context.storageState(),
    });
    try {
      const other = await shared.newPage();
      await other.goto(page.url());
      await expect.poll(() => titles(other)).toEqual([RENT]);
      expect(await other.getByLabel("Search").inputValue()).toBe("rent");
    } finally {
      await shared.close();
    }

    await filters.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => titles(page)).toEqual([RENT, DENTIST, PASSPORT]);
    await expect.poll(() => stats(page)).toBe("3 tasks · 1 done · 2 open");
    expect(search(page)).toBe("?sort=priority");
    expect(await filters.getByRole("button", { name: "Clear filters" }).count()).toBe(0);
    await filters.getByLabel("Sort by").selectOption({ label: "Newest first" });
    await expect.poll(() => titles(page)).toEqual([DENTIST, RENT, PASSPORT]);
    expect(search(page)).toBe("");
    await checkScreen(page, d(), "tasks");
  });

  it("undoes a delete by mouse and by keyboard, with focus on the next task, and deletes for good after a few seconds", async () => {
    const { page } = carol;
    await page.getByRole("button", { name: `Delete ${RENT}` }).click();
    await expect.poll(() => titles(page)).toEqual([DENTIST, PASSPORT]);
    await expect.poll(() => focused(page)).toBe(PASSPORT);
    const bar = page.getByRole("status", { name: "Deleted tasks" });
    await expect.poll(() => bar.textContent()).toBe(`Deleted “${RENT}”.Undo`);
    await expect.poll(() => stats(page)).toBe("2 tasks · 1 done · 1 open");
    await page.getByRole("button", { name: `Undo deleting ${RENT}` }).click();
    await expect.poll(() => titles(page)).toEqual([DENTIST, RENT, PASSPORT]);
    await expect.poll(() => focused(page)).toBe(RENT);
    await expect.poll(() => stats(page)).toBe("3 tasks · 1 done · 2 open");

    // The keyboard alone: Enter on Delete, then Ctrl+Z.
    await page.getByRole("button", { name: `Delete ${RENT}` }).focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => titles(page)).toEqual([DENTIST, PASSPORT]);
    await expect.poll(() => focused(page)).toBe(PASSPORT);
    await page.keyboard.press("ControlOrMeta+z");
    await expect.poll(() => titles(page)).toEqual([DENTIST, RENT, PASSPORT]);
    await expect.poll(() => focused(page)).toBe(RENT);

    // Not undone: deleted once its window is over, and gone after a reload. The screen with its
    // undo bar is checked here, where the window may run out while it is (on a slow machine, the
    // checks take longer than the window).
    await page.getByRole("button", { name: `Delete ${DENTIST}` }).click();
    await expect.poll(() => focused(page)).toBe(RENT);
    await expect.poll(() => bar.textContent()).toBe(`Deleted “${DENTIST}”.Undo`);
    await checkScreen(page, d(), "tasks-undo");
    await expect
      .poll(() => countRows(d(), `tasks WHERE title = '${DENTIST}'`), { timeout: 10_000 })
      .toBe(0);
    expect(await countRows(d(), `tasks WHERE title = '${RENT}'`)).toBe(1);
    await expect.poll(() => page.getByRole("button", { name: /^Undo deleting/ }).count()).toBe(0);
    await page.reload();
    await expect.poll(() => titles(page)).toEqual([RENT, PASSPORT]);
    await expect.poll(() => stats(page)).toBe("2 tasks · 1 done · 1 open");
  });

  it("writes due dates as the reader's locale does, and says overdue and due today in words", async () => {
    const api = apiClient(d(), await currentToken(carol));
    const timeZone = "Europe/Berlin";
    await api.task.create.mutate({ title: "File the taxes", dueAt: day(dayIn(timeZone, -1)) });
    await api.task.create.mutate({ title: "Call the bank", dueAt: day(dayIn(timeZone)) });
    const inLocale = async (locale: string) => {
      const context = await world().browsers.newContext({
        viewport: VIEWPORT,
        locale,
        timezoneId: timeZone,
        storageState: await carol.context.storageState(),
      });
      const page = await context.newPage();
      await page.goto(`${d().webUrl}/?sort=due`);
      await expect.poll(async () => (await listedTasks(page)).length).toBe(4);
      const listed = Object.fromEntries((await listedTasks(page)).map((t) => [t.title, t.details]));
      return { context, page, listed };
    };
    const german = await inLocale("de-DE");
    try {
      const [y, m, dd] = dayIn(timeZone, -1).split("-");
      const [ty, tm, td] = dayIn(timeZone).split("-");
      await expect
        .poll(async () =>
          Object.fromEntries((await listedTasks(german.page)).map((t) => [t.title, t.details])),
        )
        .toEqual({
          "File the taxes": `MediumOverdue, due ${dd}.${m}.${y}`,
          "Call the bank": `MediumDue today, ${td}.${tm}.${ty}`,
          [PASSPORT]: "LowDue 15.01.2030",
          [RENT]: "HighDue 01.02.2030",
        });
      await checkScreen(german.page, d(), "tasks-due-de");
    } finally {
      await german.context.close();
    }
    const british = await inLocale("en-GB");
    try {
      expect(british.listed[RENT]).toBe("HighDue 01/02/2030");
    } finally {
      await british.context.close();
    }
  });

  it("has a heading on every screen, a skip link first, targets of 24 px at least, and a favicon", async () => {
    const { page } = carol;
    const missing: string[] = [];
    const onResponse = (response: { status(): number; url(): string }) => {
      if (response.status() === 404) missing.push(response.url());
    };
    page.on("response", onResponse);
    await page.goto(`${d().webUrl}/`);
    await page.getByRole("heading", { level: 1, name: "Your tasks" }).waitFor();
    const icon = await page.locator("link[rel=icon]").getAttribute("href");
    const favicon = await fetch(new URL(icon ?? "/favicon.ico", d().webUrl));
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get("content-type")).toContain("image/svg+xml");

    // The first Tab reaches the skip link; following it, the next Tab is in the main content.
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    expect(
      await page.evaluate(() => document.activeElement?.closest("main")?.id ?? "outside main"),
    ).toBe("main");

    const small = await page.evaluate(() =>
      [...document.querySelectorAll("a, button, select, input, textarea, label.chip")]
        // A radio's target is its chip; what is not rendered is no target.
        .filter((element) => !(element instanceof HTMLInputElement && element.type === "radio"))
        .filter((element) => element.getClientRects().length > 0)
        .filter((element) => !element.classList.contains("skip-link"))
        .map((element) => {
          const { width, height } = element.getBoundingClientRect();
          return { element: element.outerHTML.slice(0, 80), width, height };
        })
        .filter(({ width, height }) => width < 24 || height < 24),
    );
    expect(small).toEqual([]);

    await editTask(page, RENT, { title: RENT, description: "By the first" });
    await page.getByRole("button", { name: `Edit ${RENT}` }).click();
    await page.getByRole("form", { name: `Edit ${RENT}` }).waitFor();
    await checkScreen(page, d(), "tasks-editing");
    await page.keyboard.press("Escape");

    await page.getByRole("link", { name: "Account" }).click();
    await page.getByRole("heading", { level: 1, name: "Account" }).waitFor();
    await checkScreen(page, d(), "account");
    page.off("response", onResponse);
    expect(missing).toEqual([]);
  });

  it("says so, accessibly, when the tasks cannot be loaded, and tries again", async () => {
    const { page } = carol;
    await page.goto(`${d().webUrl}/`);
    await page.getByRole("heading", { level: 1, name: "Your tasks" }).waitFor();
    await settled(page);
    // Batched with other calls, the procedure may come anywhere in the path.
    const listing = /\btask\.list\b/;
    await page.route(listing, (route) => route.abort());
    try {
      await page.getByRole("search", { name: "Filter tasks" }).getByLabel("Completed").check();
      await expect
        .poll(() => page.getByRole("main").getByRole("alert").textContent())
        .toMatch(/^The tasks could not be loaded: /);
      await checkScreen(page, d(), "tasks-error");
    } finally {
      await page.unroute(listing);
    }
    await page.getByRole("button", { name: "Try again" }).click();
    await expect.poll(() => titles(page)).toEqual([PASSPORT]);
  });

  it("changes the display name and the password on the account page, and signs out from the task screen", async () => {
    const { page } = carol;
    await page.goto(`${d().webUrl}/account`);
    await page.getByLabel("Display name").fill("Caroline");
    await page.getByRole("button", { name: "Save name" }).click();
    await page.getByText("Your name has been changed.").waitFor();
    const header = page.getByRole("navigation", { name: "Account" });
    await expect.poll(() => header.getByText("Caroline", { exact: true }).count()).toBe(1);
    // Better Auth's user and the API's say the same.
    const { id } = (await rowsOf(d(), carol.email)) as { id: string };
    expect(await countRows(d(), `auth_users WHERE id = '${id}' AND name = 'Caroline'`)).toBe(1);
    expect(await countRows(d(), `users WHERE id = '${id}' AND name = 'Caroline'`)).toBe(1);

    const form = page.getByRole("form", { name: "Password" });
    const rule = await form.getByLabel("New password").getAttribute("aria-describedby");
    expect(await page.locator(`#${rule}`).textContent()).toBe("At least 8 characters.");
    await form.getByLabel("Current password").fill("not my password");
    await form.getByLabel("New password").fill("a new and longer passphrase");
    await form.getByRole("button", { name: "Change password" }).click();
    await expect.poll(() => form.getByRole("alert").textContent()).not.toBe(null);
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.getAttribute("role")))
      .toBe("alert");
    await checkScreen(page, d(), "account-error");
    await form.getByLabel("Current password").fill(PASSWORD);
    await form.getByLabel("New password").fill("a new and longer passphrase");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByText("Your password has been changed.").waitFor();
    const [account] = await query(
      d().databaseUrl,
      `SELECT password FROM auth_accounts WHERE user_id = '${id}'`,
    );
    expect(account?.password).not.toContain("a new and longer passphrase");

    await page.goto(`${d().webUrl}/`);
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
    expect(await sessionCookie(carol.context)).toBeUndefined();
  });
}

import { describe, expect, it } from "vitest";
import { type CachedList, placeTask, recount } from "../src/lib/task-cache.ts";
import type { Task } from "../src/lib/tasks.ts";

/** A task created `minute` minutes past midnight; ids in the same order as the times. */
function task(minute: number, changes: Partial<Task> = {}): Task {
  const at = new Date(Date.UTC(2030, 0, 1, 0, minute));
  const id = `01890a5d-ac96-774b-bcce-${String(minute).padStart(12, "0")}`;
  return {
    id,
    title: `Task ${minute}`,
    description: null,
    completed: false,
    priority: "MEDIUM",
    dueAt: null,
    createdAt: at,
    updatedAt: at,
    ...changes,
  };
}

/** Pages of the given tasks (newest first); every page but the last has a next cursor. */
function list(...pages: Task[][]): CachedList {
  return {
    pages: pages.map((items, index) => ({
      items,
      nextCursor: index < pages.length - 1 ? `after page ${index}` : null,
    })),
    pageParams: pages.map((_, index) => (index === 0 ? null : `after page ${index - 1}`)),
  };
}

const minutes = (cached: CachedList | undefined) =>
  cached?.pages.map((page) => page.items.map((item) => Number(item.title.slice(5))));

describe("placing a changed task in a cached list", () => {
  it("inserts a new task in the list's order, across pages", () => {
    const cached = list([task(9), task(7)], [task(5), task(3)]);
    expect(minutes(placeTask(cached, {}, task(10).id, task(10)))).toEqual([
      [10, 9, 7],
      [5, 3],
    ]);
    expect(minutes(placeTask(cached, {}, task(6).id, task(6)))).toEqual([
      [9, 7],
      [6, 5, 3],
    ]);
    expect(minutes(placeTask(cached, {}, task(1).id, task(1)))).toEqual([
      [9, 7],
      [5, 3, 1],
    ]);
  });

  it("leaves a task past the last page loaded to the next page, when there is one", () => {
    const cached = list([task(9), task(7)]);
    cached.pages[0] = { items: [task(9), task(7)], nextCursor: "after page 0" };
    expect(placeTask(cached, {}, task(1).id, task(1))).toBeUndefined();
  });

  it("replaces a task in its place, even the last one loaded, and is idempotent", () => {
    const cached = list([task(9), task(7)]);
    cached.pages[0] = { items: [task(9), task(7)], nextCursor: "after page 0" };
    const renamed = { ...task(7), title: "Task 7", description: "renamed" };
    const once = placeTask(cached, {}, renamed.id, renamed);
    expect(once?.pages[0]?.items[1]).toEqual(renamed);
    expect(minutes(placeTask(once as CachedList, {}, renamed.id, renamed))).toEqual([[9, 7]]);
  });

  it("moves a task out of a list whose filters it no longer matches, and back in", () => {
    const open = list([task(9), task(7), task(5)]);
    const done = { ...task(7), completed: true };
    const without = placeTask(open, { completed: false }, done.id, done);
    expect(minutes(without)).toEqual([[9, 5]]);
    expect(
      minutes(placeTask(without as CachedList, { completed: false }, done.id, task(7))),
    ).toEqual([[9, 7, 5]]);
    expect(placeTask(open, { search: "nothing like it" }, task(8).id, task(8))).toBeUndefined();
  });

  it("removes a deleted task; nothing changes for one it does not show", () => {
    const cached = list([task(9), task(7)]);
    expect(minutes(placeTask(cached, {}, task(9).id, null))).toEqual([[7]]);
    expect(placeTask(cached, {}, task(8).id, null)).toBeUndefined();
  });
});

describe("recounting", () => {
  const stats = { total: 3, completed: 1, open: 2 };

  it("counts what a change adds and takes away", () => {
    expect(recount(stats, null, task(1))).toEqual({ total: 4, completed: 1, open: 3 });
    expect(recount(stats, task(1), { ...task(1), completed: true })).toEqual({
      total: 3,
      completed: 2,
      open: 1,
    });
    expect(recount(stats, { ...task(1), completed: true }, null)).toEqual({
      total: 2,
      completed: 0,
      open: 2,
    });
    expect(recount(stats, task(1), task(1))).toEqual(stats);
  });
});

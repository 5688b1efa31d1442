// Requests of one user that race each other, each a request of its own (no batching), through the
// real server on the real database. (Parallel first requests of a new user: server.test.ts.)
import { beforeAll, describe, expect, it } from "vitest";
import { signToken, type TestApi, useTestApi } from "./support.ts";

const setup = useTestApi("jwks");
let client: ReturnType<TestApi["client"]>;

beforeAll(async () => {
  const token = await signToken({ sub: "racer", email: "racer@example.com" }, { jwks: setup.jwks });
  client = setup.api.client(token, { batch: false });
  await client.user.me.query();
});

/** The fields a write sets, as comparable text. */
function written(task: {
  title: string;
  description: string | null;
  completed: boolean;
  priority: string | undefined;
  dueAt: Date | null;
}) {
  const { title, description, completed, priority, dueAt } = task;
  return JSON.stringify({ title, description, completed, priority, dueAt });
}

describe("parallel requests of one user", () => {
  it("50 parallel creates make exactly 50 rows, each answered with its own task", async () => {
    const titles = Array.from({ length: 50 }, (_, i) => `parallel ${i}`);
    const created = await Promise.all(titles.map((title) => client.task.create.mutate({ title })));
    expect(created.map((task) => task.title)).toEqual(titles);
    expect(new Set(created.map((task) => task.id)).size).toBe(50);
    expect(await setup.api.db.task.count({ where: { userId: "racer" } })).toBe(50);
    const listed = await client.task.list.query({ limit: 100 });
    expect(listed.items.map((task) => task.id).sort()).toEqual(
      created.map((task) => task.id).sort(),
    );
    expect(await client.task.stats.query()).toEqual({ total: 50, completed: 0, open: 50 });

    // Parallel creates can share a millisecond, so createdAt: paging must still visit each once.
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.task.list.query({ limit: 7, cursor });
      paged.push(...page.items.map((task) => task.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor && paged.length <= 50);
    expect(paged).toEqual(listed.items.map((task) => task.id));
  });

  it("parallel updates of one task leave exactly one write, and updatedAt never goes back", async () => {
    const task = await client.task.create.mutate({ title: "contended" });
    // Every write sets every field to values no other write uses, so a row mixing two is visible.
    const writes = Array.from({ length: 24 }, (_, i) => ({
      id: task.id,
      title: `write ${i}`,
      description: `description of write ${i}`,
      completed: i % 2 === 0,
      priority: (["LOW", "MEDIUM", "HIGH"] as const)[i % 3],
      dueAt: new Date(Date.UTC(2030, 0, 1 + i)),
    }));
    // A reader polls the task while the writes race: what it sees must never go back in time.
    let writing = true;
    const seen: Date[] = [];
    const reader = (async () => {
      while (writing) seen.push((await client.task.byId.query({ id: task.id })).updatedAt);
    })();
    const answers = await Promise.all(writes.map((write) => client.task.update.mutate(write)));
    writing = false;
    await reader;

    const final = await client.task.byId.query({ id: task.id });
    const matching = writes.filter((write) => written(write) === written(final));
    expect(matching, JSON.stringify(final)).toHaveLength(1);
    // …and it is that write's row, its time included, as the write was answered.
    expect(final).toEqual(answers[writes.indexOf(matching[0] as (typeof writes)[number])]);
    // Each answer is the row its own write produced.
    answers.forEach((answer, i) => {
      expect(answer).toMatchObject({ ...writes[i], createdAt: task.createdAt });
    });

    // The last write to commit is the final row: no write answered with a later time than it.
    const latestAnswer = Math.max(...answers.map((answer) => answer.updatedAt.getTime()));
    expect(final.updatedAt.getTime()).toBeGreaterThanOrEqual(latestAnswer);
    for (const answer of answers) {
      expect(answer.updatedAt.getTime()).toBeGreaterThanOrEqual(task.updatedAt.getTime());
    }
    const times = [task.updatedAt, ...seen, final.updatedAt].map((date) => date.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});

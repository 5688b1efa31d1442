// Property: random writes by several users through two API server processes on one database,
// while each user follows their changes on both (twice on each). Every event a stream gets is its own user's;
// once the writes settle, each stream has delivered every change, numbered 1, 2, 3, … in the
// order the user made them, and folding the events gives exactly the user's tasks.
import type { LiveChange } from "@tasks/api";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIENCE, ISSUER, SECRET, signToken, startTestApi, type TestApi } from "./support.ts";

const RUNS = Number(process.env.LIVE_MODEL_RUNS) || 40;
const USERS = 3;

let instances: TestApi[] = [];

beforeAll(async () => {
  const auth = { mode: "secret", secret: SECRET, issuer: ISSUER, audience: AUDIENCE } as const;
  const first = await startTestApi(auth);
  const second = await startTestApi(auth, { databaseUrl: first.databaseUrl });
  instances = [first, second];
});
afterAll(async () => {
  // The second shares the first's database: it stops first.
  for (const api of instances.toReversed()) await api?.stop();
});

type Write =
  | { op: "create"; user: number; via: number; title: string }
  | { op: "update"; user: number; via: number; pick: number; completed: boolean }
  | { op: "delete"; user: number; via: number; pick: number };

const user = fc.nat({ max: USERS - 1 });
const via = fc.nat({ max: 1 });
const write: fc.Arbitrary<Write> = fc.oneof(
  fc.record({
    op: fc.constant("create"),
    user,
    via,
    title: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant("update"), user, via, pick: fc.nat(), completed: fc.boolean() }),
  fc.record({ op: fc.constant("delete"), user, via, pick: fc.nat() }),
) as fc.Arbitrary<Write>;

interface Logged {
  kind: "created" | "updated" | "deleted";
  taskId: string;
}

let run = 0;

describe("live streams on two instances", () => {
  it(`deliver every change to its user's streams on both, and nothing else (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 25 }), async (writes) => {
        run++;
        const users = await Promise.all(
          Array.from({ length: USERS }, async (_, index) => {
            const sub = `live-model-${run}-${index}`;
            const token = await signToken({ sub, email: `${sub}@example.com` });
            const clients = instances.map((api) => api.client(token));
            return { sub, clients, tasks: new Map<string, boolean>(), logged: [] as Logged[] };
          }),
        );
        // Each user's streams, two on each instance (which share their reads); each begins with
        // `refetch`.
        const streams = users.flatMap((owner, index) =>
          [...owner.clients, ...owner.clients].map((client) => {
            const received: { id: string; change: LiveChange }[] = [];
            const subscription = client.task.changes.subscribe(
              {},
              { onData: ({ id, data }) => received.push({ id, change: data }) },
            );
            return { owner: index, received, stop: () => subscription.unsubscribe() };
          }),
        );
        try {
          await expect
            .poll(() => streams.every((stream) => stream.received.length >= 1), { timeout: 10_000 })
            .toBe(true);

          // Users write at the same time; each user's writes go one after the other.
          await Promise.all(
            users.map(async (owner, index) => {
              for (const step of writes.filter((w) => w.user === index)) {
                const client = owner.clients[step.via];
                if (!client) throw new Error("no such instance");
                const ids = [...owner.tasks.keys()];
                if (step.op === "create") {
                  const task = await client.task.create.mutate({ title: step.title.trim() || "x" });
                  owner.tasks.set(task.id, false);
                  owner.logged.push({ kind: "created", taskId: task.id });
                } else if (ids.length > 0) {
                  const id = ids[step.pick % ids.length] as string;
                  if (step.op === "update") {
                    await client.task.update.mutate({ id, completed: step.completed });
                    owner.tasks.set(id, step.completed);
                    owner.logged.push({ kind: "updated", taskId: id });
                  } else {
                    await client.task.delete.mutate({ id });
                    owner.tasks.delete(id);
                    owner.logged.push({ kind: "deleted", taskId: id });
                  }
                }
              }
            }),
          );

          for (const stream of streams) {
            const owner = users[stream.owner];
            if (!owner) throw new Error("no such user");
            const expected = owner.logged.length + 1;
            await expect.poll(() => stream.received.length, { timeout: 10_000 }).toBe(expected);
            const [first, ...changes] = stream.received;
            expect(first?.change.kind).toBe("refetch");
            // Numbered 1, 2, 3, … in the order the user wrote.
            expect(changes.map(({ id }) => id)).toEqual(
              owner.logged.map((_, at) => String(at + 1)),
            );
            const folded = new Map<string, boolean>();
            changes.forEach(({ change }, at) => {
              const logged = owner.logged[at] as Logged;
              // Only the user's own tasks, each change naming the task it logged.
              const taskId = "task" in change ? change.task.id : "id" in change ? change.id : null;
              expect(taskId).toBe(logged.taskId);
              // A created or updated task already deleted when read is sent as deleted.
              expect([logged.kind, "deleted"]).toContain(change.kind);
              if ("task" in change) folded.set(change.task.id, change.task.completed);
              else folded.delete(taskId as string);
            });
            expect(folded).toEqual(owner.tasks);
          }
        } finally {
          for (const stream of streams) stream.stop();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

// Load: many users' mixed requests through the real server on the real database, with autocannon
// on loopback, every answer checked against the user who asked (see workload.ts). It runs a few
// seconds; LOAD_SECONDS=20 runs longer. The server and the load share this process's one thread,
// so the rates printed are a floor for the server alone.
import autocannon from "autocannon";
import { expect, it } from "vitest";
import { signToken, useTestApi } from "./support.ts";
import { type Pending, Workload } from "./workload.ts";

const seconds = Number(process.env.LOAD_SECONDS) || 4;
const USERS = 100;
const CONNECTIONS = 32;
const setup = useTestApi("secret");

it(
  `${seconds} s of list/create/update/delete by ${USERS} users on ${CONNECTIONS} connections`,
  async () => {
    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, index) => {
        const sub = `load-${index}`;
        const claims = { sub, email: `${sub}@example.com` };
        return { sub, token: await signToken(claims, { expiresIn: `${seconds + 600}s` }) };
      }),
    );
    const workload = new Workload(users);
    expect(new URL(setup.api.url).hostname).toBe("127.0.0.1");
    // Every account exists, and the server is warm, before anything is measured.
    const firstSights = await Promise.all(
      users.map(({ token }) =>
        fetch(`${setup.api.url}/trpc/user.me`, { headers: { authorization: `Bearer ${token}` } }),
      ),
    );
    expect(firstSights.map((response) => response.status)).toEqual(users.map(() => 200));

    const result = await autocannon({
      url: setup.api.url,
      connections: CONNECTIONS,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          setupRequest(request, context) {
            const next = workload.next();
            Object.assign(context, next.pending);
            return { ...request, ...next.request };
          },
          onResponse(status, body, context) {
            workload.record(context as Pending, status, body);
          },
        },
      ],
    });

    const { completed, violations, mismatches, failures } = workload;
    const answered = Object.values(completed).reduce((sum, count) => sum + count, 0);
    console.log(
      `load: ${result.duration.toFixed(1)} s, ${CONNECTIONS} connections, ${USERS} users: ` +
        `${result.requests.total} requests (${JSON.stringify(completed)}), ` +
        `${result.requests.average.toFixed(0)} requests/s, ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ` +
        `errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, ` +
        `isolation violations ${violations.length}, mismatches ${mismatches.length}`,
    );
    expect(failures.slice(0, 5)).toEqual([]);
    expect(violations.slice(0, 5)).toEqual([]);
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    // Every answer autocannon counted went through the checks, and each kind of request was made.
    expect(answered).toBe(result["2xx"]);
    for (const count of Object.values(completed)) expect(count).toBeGreaterThan(0);

    // Afterwards, the database holds each user's tasks as its answers said, and nobody else's.
    const rows = await setup.api.db.task.findMany({
      where: { userId: { startsWith: "load-" } },
      select: { id: true, title: true, userId: true },
    });
    for (const row of rows) expect(row.title.startsWith(`${row.userId}:`), row.title).toBe(true);
    const unsettled = workload.inFlight();
    workload.users.forEach((user, index) => {
      if (unsettled.has(index)) return;
      const stored = rows
        .filter((row) => row.userId === user.sub)
        .map((row) => [row.id, row.title]);
      expect(stored.sort(), user.sub).toEqual([...user.tasks].sort());
    });
  },
  (seconds + 60) * 1_000,
);

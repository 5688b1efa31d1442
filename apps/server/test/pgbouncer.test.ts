// Only in the `pgbouncer` project: the API suite runs there through PgBouncer in transaction
// mode; this file proves the traffic went through it, transactions included.
import { query } from "@tasks/db/testing";
import { describe, expect, it } from "vitest";
import { signToken, useTestApi } from "./support.ts";

const setup = useTestApi("secret");

describe("through PgBouncer in transaction mode", () => {
  it("provisions users, runs transactions, and the pooler's console shows the traffic", async () => {
    const { api } = setup;
    const token = await signToken({ sub: "pooled", email: "pooled@example.com" });
    const client = api.client(token, { batch: false });
    // Parallel first requests: one user row, provisioned through the pooler.
    await Promise.all(Array.from({ length: 8 }, () => client.task.stats.query()));
    expect(await api.db.user.count({ where: { id: "pooled" } })).toBe(1);

    // An interactive transaction keeps its one server connection, and rolls back as a whole.
    const rolledBack = api.db.$transaction(async (tx) => {
      await tx.task.create({ data: { title: "never", userId: "pooled" } });
      throw new Error("roll back");
    });
    await expect(rolledBack).rejects.toThrow("roll back");
    const committed = await api.db.$transaction(async (tx) => {
      const task = await tx.task.create({ data: { title: "kept", userId: "pooled" } });
      return tx.task.findUniqueOrThrow({ where: { id: task.id } });
    });
    expect((await client.task.list.query()).items.map((task) => task.title)).toEqual([
      committed.title,
    ]);

    const admin = new URL(api.databaseUrl);
    admin.pathname = "/pgbouncer";
    const pools = await query(admin.href, "SHOW POOLS");
    const database = new URL(api.databaseUrl).pathname.slice(1);
    expect(pools).toContainEqual(expect.objectContaining({ database, pool_mode: "transaction" }));
  });
});

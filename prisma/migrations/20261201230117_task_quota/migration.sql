-- AlterTable
ALTER TABLE "users" ADD COLUMN     "task_count" INTEGER NOT NULL DEFAULT 0;


-- Accounts that existed before the counter.
UPDATE "users" SET "task_count" = (SELECT count(*) FROM "tasks" WHERE "tasks"."user_id" = "users"."id");

-- The task quota: inserting tasks adds them to their owner's counter, under the owner row's lock,
-- so parallel inserts of one user are counted one after the other and never pass the quota
-- together. The quota is the `app.task_quota` setting (the database's default, see the
-- `database_limits` migration); unset or empty, nothing is refused.
CREATE FUNCTION "tasks_count_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  quota integer := nullif(current_setting('app.task_quota', true), '')::integer;
  highest integer;
BEGIN
  WITH added AS (SELECT "user_id", count(*) AS n FROM inserted GROUP BY "user_id"),
  counted AS (
    UPDATE "users" SET "task_count" = "users"."task_count" + added.n
      FROM added WHERE "users"."id" = added."user_id"
    RETURNING "users"."task_count"
  )
  SELECT max("task_count") INTO highest FROM counted;
  IF highest > quota THEN
    RAISE EXCEPTION 'task quota of % reached', quota USING ERRCODE = 'TQ001';
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "tasks_count_inserted"
  AFTER INSERT ON "tasks" REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION "tasks_count_inserted"();

-- Deleted tasks, also those a deleted user takes with them (whose row is then gone already).
CREATE FUNCTION "tasks_count_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH removed AS (SELECT "user_id", count(*) AS n FROM deleted GROUP BY "user_id")
  UPDATE "users" SET "task_count" = "users"."task_count" - removed.n
    FROM removed WHERE "users"."id" = removed."user_id";
  RETURN NULL;
END;
$$;

CREATE TRIGGER "tasks_count_deleted"
  AFTER DELETE ON "tasks" REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION "tasks_count_deleted"();

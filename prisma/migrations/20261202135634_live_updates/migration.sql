-- CreateEnum
CREATE TYPE "change_kind" AS ENUM ('created', 'updated', 'deleted', 'account_deleted');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "last_change" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "task_changes" (
    "user_id" VARCHAR(255) NOT NULL,
    "seq" INTEGER NOT NULL,
    "kind" "change_kind" NOT NULL,
    "task_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_changes_pkey" PRIMARY KEY ("user_id","seq")
);

-- CreateIndex
CREATE INDEX "task_changes_created_at_idx" ON "task_changes" USING BRIN ("created_at");

-- Live updates. Every write to `tasks` is numbered and logged in `task_changes` by the triggers
-- below, in the write's own transaction: a committed write always has its row, a rolled-back one
-- never. Per user the numbers count up in commit order, because each statement numbers its rows
-- under the lock of the owner's `users` row, held until commit (the lock the task counter already
-- takes on insert and delete). Each statement then sends one small NOTIFY per user on the channel
-- `task_changes`, `<latest seq>:<user id>`, which PostgreSQL delivers only once the transaction
-- commits. Listeners read the rows themselves, as that user.

-- The task counter (see the `task_quota` migration) and the change numbers, in one update of the
-- owner row per statement.
DROP TRIGGER "tasks_count_inserted" ON "tasks";
DROP TRIGGER "tasks_count_deleted" ON "tasks";
DROP FUNCTION "tasks_count_inserted"();
DROP FUNCTION "tasks_count_deleted"();

CREATE FUNCTION "tasks_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  quota integer := nullif(current_setting('app.task_quota', true), '')::integer;
  kind "change_kind" := CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END;
  counted integer := CASE TG_OP WHEN 'INSERT' THEN 1 WHEN 'DELETE' THEN -1 ELSE 0 END;
  highest integer;
BEGIN
  WITH changed AS (
    SELECT "user_id", "id",
      row_number() OVER (PARTITION BY "user_id" ORDER BY "id") AS n,
      count(*) OVER (PARTITION BY "user_id") AS total
    FROM changed_rows
  ),
  per_owner AS (SELECT DISTINCT "user_id", total FROM changed),
  -- Tasks a deleted user takes with them find no owner row: nothing is counted or logged.
  owners AS (
    UPDATE "users" SET
        "task_count" = "users"."task_count" + counted * per_owner.total,
        "last_change" = "users"."last_change" + per_owner.total
      FROM per_owner WHERE "users"."id" = per_owner."user_id"
    RETURNING "users"."id", "users"."task_count", "users"."last_change" - per_owner.total AS before
  ),
  logged AS (
    INSERT INTO "task_changes" ("user_id", "seq", "kind", "task_id")
      SELECT changed."user_id", owners.before + changed.n, kind, changed."id"
      FROM changed JOIN owners ON owners."id" = changed."user_id"
    RETURNING "user_id", "seq"
  ),
  notified AS (
    SELECT pg_notify('task_changes', max("seq") || ':' || "user_id") FROM logged GROUP BY "user_id"
  )
  SELECT max(owners."task_count") INTO highest
    FROM owners, (SELECT count(*) FROM notified) AS sent;
  IF counted > 0 AND highest > quota THEN
    RAISE EXCEPTION 'task quota of % reached', quota USING ERRCODE = 'TQ001';
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER "tasks_inserted"
  AFTER INSERT ON "tasks" REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "tasks_changed"();
CREATE TRIGGER "tasks_updated"
  AFTER UPDATE ON "tasks" REFERENCING NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "tasks_changed"();
CREATE TRIGGER "tasks_deleted"
  AFTER DELETE ON "tasks" REFERENCING OLD TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "tasks_changed"();

-- An account made again under an id seen before (the test suites do; deleted accounts are
-- otherwise never re-provisioned) numbers on from its old changes, which may not be pruned yet.
CREATE FUNCTION "users_numbered_on"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."last_change" := coalesce(
    (SELECT max("seq") FROM "task_changes" WHERE "user_id" = NEW."id"), NEW."last_change");
  RETURN NEW;
END;
$$;

CREATE TRIGGER "users_numbered_on"
  BEFORE INSERT ON "users"
  FOR EACH ROW EXECUTE FUNCTION "users_numbered_on"();

-- An account's deletion is its last change.
CREATE FUNCTION "users_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "task_changes" ("user_id", "seq", "kind")
    VALUES (OLD."id", OLD."last_change" + 1, 'account_deleted');
  PERFORM pg_notify('task_changes', (OLD."last_change" + 1) || ':' || OLD."id");
  RETURN NULL;
END;
$$;

CREATE TRIGGER "users_deleted"
  AFTER DELETE ON "users"
  FOR EACH ROW EXECUTE FUNCTION "users_deleted"();

-- The app reads its users' changes and its triggers write them; it never edits or removes one.
-- Row-level security keeps each user to their own rows, as on `tasks`. It is not FORCEd: the
-- owner, as whom `prune_task_changes` runs, removes old rows of every user.
GRANT SELECT, INSERT ON "task_changes" TO "tasks_app";
ALTER TABLE "task_changes" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "task_changes_own_rows" ON "task_changes"
  USING ("user_id" = nullif(current_setting('app.user_id', true), ''))
  WITH CHECK ("user_id" = nullif(current_setting('app.user_id', true), ''));

-- Drops the rows older than `keep` (at least a minute); returns how many. Each API process calls
-- it now and then with its retention window.
CREATE FUNCTION "prune_task_changes"(keep interval) RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  WITH pruned AS (
    DELETE FROM public."task_changes" WHERE "created_at" < now() - greatest(keep, interval '1 minute')
    RETURNING 1
  )
  SELECT count(*)::integer FROM pruned;
$$;
REVOKE ALL ON FUNCTION "prune_task_changes"(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "prune_task_changes"(interval) TO "tasks_app";

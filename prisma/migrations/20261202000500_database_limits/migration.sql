-- The database's own limits, for every session of every role, through any pooler (PostgreSQL
-- applies them when a session starts): a statement runs at most 10 s (PostgreSQL cancels it), and
-- an account holds at most 10,000 tasks (the `tasks_count_inserted` trigger reads the setting).
-- Change them with `ALTER DATABASE … SET …`; new sessions take the new value. A session may set
-- its own (`SET app.task_quota = ''` lifts the quota for the owner's own scripts).
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '10s');
  EXECUTE format('ALTER DATABASE %I SET app.task_quota = %L', current_database(), '10000');
  -- And for this session: the embedded database serves every client from the one session that
  -- migrated it.
  PERFORM set_config('app.task_quota', '10000', false);
END
$$;

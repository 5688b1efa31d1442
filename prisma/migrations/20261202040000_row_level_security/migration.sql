-- Row-level security: the database itself keeps each user to their own rows, beneath the scoped
-- client. A row of `users` or `tasks` is visible and writable only in a transaction whose
-- `app.user_id` setting is its user's id (the app sets it with `set_config(…, true)` in the same
-- transaction as each statement). Without the setting a statement sees no row and writes none.
-- FORCE binds the tables' owner too; superusers and BYPASSRLS roles are never bound, so the app
-- connects as `tasks_app` (or a role granted it), which is neither.

-- The role the app connects as. LOGIN without a password: where passwords are checked (Neon, any
-- production server) it logs in only once an operator gives it one, or grants it to another role.
DO $$
BEGIN
  CREATE ROLE "tasks_app" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
-- One cluster's databases share their roles: another database's migration may have made it, or be
-- making it now (then this one waits for it, and finds the name taken).
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA "public" TO "tasks_app";
GRANT SELECT, INSERT, UPDATE, DELETE ON "users", "tasks" TO "tasks_app";
-- Deleted accounts are recorded, never forgotten.
GRANT SELECT, INSERT, UPDATE ON "deleted_users" TO "tasks_app";
GRANT SELECT, INSERT, UPDATE, DELETE ON "rate_limit_hits" TO "tasks_app";
-- Better Auth's tables are read before anyone is signed in (a sign-in looks an email up), so no
-- user setting can guard them: they are the identity provider's, reached only by Better Auth.
GRANT SELECT, INSERT, UPDATE, DELETE
  ON "auth_users", "auth_sessions", "auth_accounts", "auth_verifications", "auth_jwks", "auth_rate_limits"
  TO "tasks_app";

ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "users" FORCE ROW LEVEL SECURITY;
CREATE POLICY "users_own_row" ON "users"
  USING ("id" = nullif(current_setting('app.user_id', true), ''))
  WITH CHECK ("id" = nullif(current_setting('app.user_id', true), ''));

ALTER TABLE "tasks" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tasks" FORCE ROW LEVEL SECURITY;
CREATE POLICY "tasks_own_rows" ON "tasks"
  USING ("user_id" = nullif(current_setting('app.user_id', true), ''))
  WITH CHECK ("user_id" = nullif(current_setting('app.user_id', true), ''));

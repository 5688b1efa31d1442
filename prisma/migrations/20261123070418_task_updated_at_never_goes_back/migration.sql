-- Prisma Client stamps `updated_at` when it builds an update, so of two updates racing on one row
-- the one that commits last may carry the earlier time. A row's time never goes back.
CREATE FUNCTION "tasks_updated_at_never_goes_back"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."updated_at" := GREATEST(NEW."updated_at", OLD."updated_at");
  RETURN NEW;
END;
$$;

CREATE TRIGGER "tasks_updated_at_never_goes_back"
  BEFORE UPDATE ON "tasks"
  FOR EACH ROW EXECUTE FUNCTION "tasks_updated_at_never_goes_back"();

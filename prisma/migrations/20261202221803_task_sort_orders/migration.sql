-- CreateIndex
CREATE INDEX "tasks_user_id_due_at_created_at_id_idx" ON "tasks"("user_id", "due_at" ASC, "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "tasks_user_id_priority_created_at_id_idx" ON "tasks"("user_id", "priority" DESC, "created_at" DESC, "id" DESC);

import type { FormEvent } from "react";
import { isPriority, PRIORITY_LABELS } from "../lib/priority.ts";
import { useCreateTask } from "../lib/queries.ts";
import { ErrorAlert } from "./error-alert.tsx";

export function NewTaskForm() {
  const create = useCreateTask();

  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const priority = data.get("priority");
    create.mutate(
      { title: String(data.get("title")), priority: isPriority(priority) ? priority : undefined },
      { onSuccess: () => form.reset() },
    );
  }

  return (
    <form className="card new-task" aria-label="New task" onSubmit={handleSubmit}>
      <label className="field grow">
        Title
        <input name="title" required maxLength={200} autoComplete="off" />
      </label>
      <label className="field">
        Priority
        <select name="priority" defaultValue="MEDIUM">
          {Object.entries(PRIORITY_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={create.isPending}>
        Add task
      </button>
      <ErrorAlert error={create.error} />
    </form>
  );
}

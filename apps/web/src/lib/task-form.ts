import { dueDateFromInput, isPriority, type NewTask } from "./tasks.ts";

/** A task's fields as the API takes them, read from a form of `TaskFields`. */
export function readTaskForm(form: HTMLFormElement): Required<NewTask> {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? "");
  const priority = data.get("priority");
  return {
    title: text("title").trim(),
    description: text("description").trim() || null,
    priority: isPriority(priority) ? priority : "MEDIUM",
    dueAt: dueDateFromInput(text("dueAt")),
  };
}

import { dueDateToInput, PRIORITY_LABELS, type Task } from "../lib/tasks.ts";

/** The fields of a task, shared by the new-task form and the editor. */
export function TaskFields({ task, idPrefix }: { task?: Task; idPrefix: string }) {
  return (
    <>
      <div className="field grow">
        <label htmlFor={`${idPrefix}-title`}>Title</label>
        <input
          id={`${idPrefix}-title`}
          name="title"
          required
          maxLength={200}
          autoComplete="off"
          defaultValue={task?.title}
        />
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-priority`}>Priority</label>
        <select
          id={`${idPrefix}-priority`}
          name="priority"
          defaultValue={task?.priority ?? "MEDIUM"}
        >
          {Object.entries(PRIORITY_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-due`}>Due</label>
        <input
          id={`${idPrefix}-due`}
          name="dueAt"
          type="date"
          defaultValue={dueDateToInput(task?.dueAt ?? null)}
        />
      </div>
      <div className="field full">
        <label htmlFor={`${idPrefix}-description`}>Description</label>
        <textarea
          id={`${idPrefix}-description`}
          name="description"
          rows={2}
          maxLength={2000}
          defaultValue={task?.description ?? ""}
        />
      </div>
    </>
  );
}

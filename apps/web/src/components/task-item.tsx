import { useOptimistic, useTransition } from "react";
import { PRIORITY_LABELS } from "../lib/priority.ts";
import { type Task, useDeleteTask, useSetCompleted } from "../lib/queries.ts";
import { ErrorAlert } from "./error-alert.tsx";

export function TaskItem({ task }: { task: Task }) {
  const setCompleted = useSetCompleted();
  const remove = useDeleteTask();
  // The box shows its new state at once, while it is saved; a failure puts the old one back.
  const [completed, showCompleted] = useOptimistic(task.completed);
  const [saving, startSaving] = useTransition();

  function toggle(checked: boolean) {
    startSaving(async () => {
      showCompleted(checked);
      // A failure is shown below, from setCompleted.error.
      await setCompleted.mutateAsync({ id: task.id, completed: checked }).catch(() => {});
    });
  }

  return (
    <li className="task">
      <label className={completed ? "title done" : "title"}>
        <input
          type="checkbox"
          checked={completed}
          disabled={saving}
          onChange={(event) => toggle(event.target.checked)}
        />
        {task.title}
      </label>
      <span className={`priority priority-${task.priority.toLowerCase()}`}>
        {PRIORITY_LABELS[task.priority]}
      </span>
      <button
        type="button"
        className="secondary"
        aria-label={`Delete ${task.title}`}
        disabled={remove.isPending}
        onClick={() => remove.mutate(task.id)}
      >
        Delete
      </button>
      <ErrorAlert error={setCompleted.error ?? remove.error} />
    </li>
  );
}

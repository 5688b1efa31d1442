"use client";

import { useOptimistic, useRef, useState, useTransition } from "react";
import { useLocale, useToday } from "../lib/locale.tsx";
import { isPending } from "../lib/task-mutations.ts";
import {
  dueState,
  formatDueDate,
  PRIORITY_LABELS,
  type Task,
  type TaskChanges,
} from "../lib/tasks.ts";
import { TaskEditor } from "./task-editor.tsx";

interface TaskItemProps {
  task: Task;
  /** Settles once the API has answered (a failure is shown by the caller). */
  onUpdate(changes: TaskChanges): Promise<unknown>;
  onDelete(task: Task): void;
}

/** The due date in the reader's format, with "Overdue" or "Due today" in words where it is. */
function DueDate({ task, dueAt }: { task: Task; dueAt: Date }) {
  const locale = useLocale();
  const today = useToday();
  const state = today ? dueState(task, today) : null;
  const date = formatDueDate(dueAt, locale);
  if (state === "overdue") return <span className="due overdue">Overdue, due {date}</span>;
  if (state === "today") return <span className="due today">Due today, {date}</span>;
  return <span className="muted">Due {date}</span>;
}

export function TaskItem({ task, onUpdate, onDelete }: TaskItemProps) {
  const [editing, setEditing] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  // Not yet saved: it has no id the API knows, so it cannot be changed yet.
  const pending = isPending(task);
  const checkboxId = `task-${task.id}`;
  // The box shows its new state in the same frame as the click, until the API has answered.
  const [completed, showCompleted] = useOptimistic(task.completed);
  const [, startSaving] = useTransition();

  function toggle() {
    startSaving(async () => {
      showCompleted(!completed);
      await onUpdate({ id: task.id, completed: !completed });
    });
  }

  function stopEditing() {
    setEditing(false);
    // Back to where the keyboard was before editing.
    requestAnimationFrame(() => editButton.current?.focus());
  }

  if (editing) {
    return (
      <li className="task">
        <TaskEditor
          task={task}
          onCancel={stopEditing}
          onSave={(changes) => {
            void onUpdate(changes);
            stopEditing();
          }}
        />
      </li>
    );
  }

  return (
    <li className={completed ? "task done" : "task"} aria-busy={pending}>
      <div className="task-main">
        <input
          id={checkboxId}
          type="checkbox"
          checked={completed}
          disabled={pending}
          onChange={toggle}
        />
        <label htmlFor={checkboxId} className="title">
          {task.title}
        </label>
      </div>
      {task.description && <p className="description">{task.description}</p>}
      <div className="task-meta">
        <span className={`priority priority-${task.priority.toLowerCase()}`}>
          {PRIORITY_LABELS[task.priority]}
        </span>
        {task.dueAt && <DueDate task={task} dueAt={task.dueAt} />}
        <span className="spacer" />
        <button
          ref={editButton}
          type="button"
          className="secondary"
          aria-label={`Edit ${task.title}`}
          disabled={pending}
          onClick={() => setEditing(true)}
        >
          Edit
        </button>
        <button
          type="button"
          className="secondary danger"
          aria-label={`Delete ${task.title}`}
          disabled={pending}
          onClick={() => onDelete(task)}
        >
          Delete
        </button>
      </div>
    </li>
  );
}

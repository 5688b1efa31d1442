"use client";

import type { FormEvent, KeyboardEvent } from "react";
import { readTaskForm } from "../lib/task-form.ts";
import type { Task, TaskChanges } from "../lib/tasks.ts";
import { TaskFields } from "./task-fields.tsx";

interface TaskEditorProps {
  task: Task;
  onSave(changes: TaskChanges): void;
  onCancel(): void;
}

/** Edits a task in place; Escape cancels. */
export function TaskEditor({ task, onSave, onCancel }: TaskEditorProps) {
  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    onSave({ id: task.id, ...readTaskForm(event.currentTarget) });
  }

  function handleKeyDown(event: KeyboardEvent<HTMLFormElement>) {
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    }
  }

  return (
    <form
      className="task-form editor"
      aria-label={`Edit ${task.title}`}
      onSubmit={handleSubmit}
      onKeyDown={handleKeyDown}
      // The title field takes the focus, so that typing edits it straight away.
      ref={(form) => form?.querySelector<HTMLInputElement>("input[name=title]")?.focus()}
    >
      <TaskFields task={task} idPrefix={`edit-${task.id}`} />
      <div className="actions">
        <button type="submit">Save</button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

"use client";

import type { FormEvent } from "react";
import { readTaskForm } from "../lib/task-form.ts";
import type { NewTask } from "../lib/tasks.ts";
import { TaskFields } from "./task-fields.tsx";

export function NewTaskForm({ onCreate }: { onCreate(task: NewTask): void }) {
  function handleSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    onCreate(readTaskForm(form));
    // The task shows in the list at once; the form is ready for the next one.
    form.reset();
    form.querySelector<HTMLInputElement>("input[name=title]")?.focus();
  }

  return (
    <form className="card task-form" aria-label="New task" onSubmit={handleSubmit}>
      <TaskFields idPrefix="new" />
      <div className="actions">
        <button type="submit">Add task</button>
      </div>
    </form>
  );
}

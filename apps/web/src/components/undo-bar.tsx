"use client";

import { useEffect } from "react";
import type { Task } from "../lib/tasks.ts";

/**
 * "Deleted “…”. Undo", for each deletion that can still be taken back, announced as it happens;
 * Ctrl+Z (⌘Z) takes back the latest one from anywhere but a text field.
 */
export function UndoBar({ tasks, onUndo }: { tasks: Task[]; onUndo(task: Task): void }) {
  const latest = tasks.at(-1);
  useEffect(() => {
    if (!latest) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "z" || !(event.ctrlKey || event.metaKey) || event.shiftKey) return;
      if (isTextField(event.target)) return;
      event.preventDefault();
      onUndo(latest);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [latest, onUndo]);

  return (
    <div role="status" aria-label="Deleted tasks" className="undo-bar">
      {tasks.map((task) => (
        <p key={task.id} className="undo">
          <span>Deleted “{task.title}”.</span>
          <button
            type="button"
            className="secondary"
            aria-label={`Undo deleting ${task.title}`}
            onClick={() => onUndo(task)}
          >
            Undo
          </button>
        </p>
      ))}
    </div>
  );
}

function isTextField(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable ||
      target instanceof HTMLTextAreaElement ||
      (target instanceof HTMLInputElement &&
        !["checkbox", "radio", "button"].includes(target.type)))
  );
}

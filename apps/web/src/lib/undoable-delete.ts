"use client";

import { useCallback, useEffect, useRef, useState } from "react";
import type { Task } from "./tasks.ts";

/** How long a deleted task can be brought back. */
export const UNDO_MS = 5000;

/**
 * Deletion with a few seconds to take it back: the task is hidden at once, and deleted through
 * the API (`remove`) only once the time is up, so that the API keeps one plain delete. A page
 * that is hidden or left deletes what it was about to, at once.
 */
export function useUndoableDelete(remove: (id: string, done: () => void) => void) {
  /** Hidden tasks: undoable until deleting; then hidden until the API has answered. */
  const [hidden, setHidden] = useState<{ task: Task; deleting: boolean }[]>([]);
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const removeRef = useRef(remove);
  useEffect(() => {
    removeRef.current = remove;
  });

  const unhide = useCallback((id: string) => {
    setHidden((entries) => entries.filter((entry) => entry.task.id !== id));
  }, []);

  const commit = useCallback(
    (id: string) => {
      const timer = timers.current.get(id);
      if (timer === undefined) return;
      clearTimeout(timer);
      timers.current.delete(id);
      setHidden((entries) =>
        entries.map((entry) => (entry.task.id === id ? { ...entry, deleting: true } : entry)),
      );
      removeRef.current(id, () => unhide(id));
    },
    [unhide],
  );

  const schedule = useCallback(
    (task: Task) => {
      setHidden((entries) => [...entries, { task, deleting: false }]);
      timers.current.set(
        task.id,
        setTimeout(() => commit(task.id), UNDO_MS),
      );
    },
    [commit],
  );

  const undo = useCallback(
    (id: string) => {
      const timer = timers.current.get(id);
      if (timer === undefined) return;
      clearTimeout(timer);
      timers.current.delete(id);
      unhide(id);
    },
    [unhide],
  );

  useEffect(() => {
    const commitAll = () => {
      for (const id of [...timers.current.keys()]) commit(id);
    };
    const onVisibility = () => document.visibilityState === "hidden" && commitAll();
    window.addEventListener("pagehide", commitAll);
    document.addEventListener("visibilitychange", onVisibility);
    return () => {
      window.removeEventListener("pagehide", commitAll);
      document.removeEventListener("visibilitychange", onVisibility);
      commitAll();
    };
  }, [commit]);

  return {
    hidden,
    /** The deletions that can still be taken back, oldest first. */
    undoable: hidden.filter((entry) => !entry.deleting).map((entry) => entry.task),
    schedule,
    undo,
  };
}

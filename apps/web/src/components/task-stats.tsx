"use client";

import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc/react.tsx";

export function TaskStats() {
  const trpc = useTRPC();
  const stats = useQuery(trpc.task.stats.queryOptions());
  return (
    <p role="status" aria-label="Stats" className="muted">
      {stats.data
        ? `${count(stats.data.total, "task")} · ${stats.data.completed} done · ${stats.data.open} open`
        : stats.isError
          ? "Counts are unavailable."
          : "Counting…"}
    </p>
  );
}

function count(n: number, noun: string) {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

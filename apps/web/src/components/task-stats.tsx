import { useTaskStats } from "../lib/queries.ts";
import { ErrorAlert } from "./error-alert.tsx";

export function TaskStats() {
  const stats = useTaskStats();
  if (stats.error) return <ErrorAlert error={stats.error} />;
  return (
    <p role="status" aria-label="Stats" className="muted">
      {stats.data
        ? `${count(stats.data.total, "task")} · ${stats.data.completed} done · ${stats.data.open} open`
        : "Loading…"}
    </p>
  );
}

function count(n: number, noun: string) {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

import { useTaskList } from "../lib/queries.ts";
import { ErrorAlert } from "./error-alert.tsx";
import { TaskItem } from "./task-item.tsx";

export function TaskList() {
  const list = useTaskList();
  if (!list.data) {
    return list.error ? <ErrorAlert error={list.error} /> : <p className="muted">Loading tasks…</p>;
  }

  const tasks = list.data.pages.flatMap((page) => page.items);
  return (
    <section className="card">
      <ErrorAlert error={list.error} />
      {tasks.length === 0 ? (
        <p className="muted">No tasks yet.</p>
      ) : (
        <ul aria-label="Tasks" className="tasks">
          {tasks.map((task) => (
            <TaskItem key={task.id} task={task} />
          ))}
        </ul>
      )}
      {list.hasNextPage && (
        <button
          type="button"
          className="secondary"
          onClick={() => list.fetchNextPage()}
          disabled={list.isFetchingNextPage}
        >
          Load more
        </button>
      )}
    </section>
  );
}

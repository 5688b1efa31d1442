import { connection } from "next/server";
import { TasksApp } from "../components/tasks-app.tsx";

const DEFAULT_API_URL = "http://127.0.0.1:3000/trpc";

export default async function HomePage() {
  // Rendered per request so that API_URL is read when the app runs, not frozen in at build time
  // (as a NEXT_PUBLIC_ variable would be): one build serves any API.
  await connection();
  return <TasksApp apiUrl={process.env.API_URL || DEFAULT_API_URL} />;
}

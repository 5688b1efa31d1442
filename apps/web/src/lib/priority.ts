import type { NewTask } from "./queries.ts";

export type Priority = NonNullable<NewTask["priority"]>;

/** Every priority the API knows, in order, with its label; the type makes it exhaustive. */
export const PRIORITY_LABELS: Record<Priority, string> = {
  LOW: "Low",
  MEDIUM: "Medium",
  HIGH: "High",
};

export function isPriority(value: unknown): value is Priority {
  return typeof value === "string" && Object.hasOwn(PRIORITY_LABELS, value);
}

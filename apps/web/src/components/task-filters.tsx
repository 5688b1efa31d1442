"use client";

import { type Filter, isPriority, PRIORITY_LABELS, type Status } from "../lib/tasks.ts";

const STATUSES: Record<Status, string> = { all: "All", open: "Open", completed: "Completed" };

export function TaskFilters({ filter, onChange }: { filter: Filter; onChange(f: Filter): void }) {
  return (
    <search className="filters" aria-label="Filter tasks">
      <fieldset className="statuses">
        <legend className="visually-hidden">Show</legend>
        {Object.entries(STATUSES).map(([status, label]) => (
          <label key={status} className="chip">
            <input
              type="radio"
              name="status"
              value={status}
              checked={filter.status === status}
              onChange={() => onChange({ ...filter, status: status as Status })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor="filter-priority">Priority</label>
        <select
          id="filter-priority"
          value={filter.priority ?? ""}
          onChange={(event) => {
            const value = event.target.value;
            onChange({ ...filter, priority: isPriority(value) ? value : null });
          }}
        >
          <option value="">Any</option>
          {Object.entries(PRIORITY_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div className="field grow">
        <label htmlFor="filter-search">Search</label>
        <input
          id="filter-search"
          type="search"
          maxLength={200}
          value={filter.search}
          onChange={(event) => onChange({ ...filter, search: event.target.value })}
        />
      </div>
    </search>
  );
}

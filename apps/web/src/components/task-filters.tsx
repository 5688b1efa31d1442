"use client";

import {
  type Filter,
  isFiltered,
  isPriority,
  PRIORITY_LABELS,
  SORT_LABELS,
  type Sort,
  type Status,
} from "../lib/tasks.ts";

const STATUSES: Record<Status, string> = { all: "All", open: "Open", completed: "Completed" };

interface TaskFiltersProps {
  filter: Filter;
  onChange(filter: Filter): void;
  /** Typing in the search field. */
  onSearch(text: string): void;
}

export function TaskFilters({ filter, onChange, onSearch }: TaskFiltersProps) {
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
        <label htmlFor="filter-priority">Filter by priority</label>
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
          onChange={(event) => onSearch(event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor="sort">Sort by</label>
        <select
          id="sort"
          value={filter.sort}
          onChange={(event) => onChange({ ...filter, sort: event.target.value as Sort })}
        >
          {Object.entries(SORT_LABELS).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {(isFiltered(filter) || filter.search !== "") && (
        <button
          type="button"
          className="secondary clear-filters"
          onClick={() => onChange({ ...filter, status: "all", priority: null, search: "" })}
        >
          Clear filters
        </button>
      )}
    </search>
  );
}

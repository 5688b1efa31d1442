"use client";

import { createContext, type ReactNode, useContext, useSyncExternalStore } from "react";
import { localToday } from "./tasks.ts";

const LocaleContext = createContext("en-US");

/**
 * The reader's locale, as the server read it from the request (`Accept-Language`), so that the
 * server-rendered page and the browser's write dates alike.
 */
export function LocaleProvider({ locale, children }: { locale: string; children: ReactNode }) {
  return <LocaleContext value={locale}>{children}</LocaleContext>;
}

export function useLocale(): string {
  return useContext(LocaleContext);
}

/**
 * Today where the browser is (`YYYY-MM-DD`), checked every minute; null on the server, which
 * does not know the reader's time zone (the page marks overdue tasks once it runs).
 */
export function useToday(): string | null {
  return useSyncExternalStore(subscribeToMinutes, localToday, () => null);
}

function subscribeToMinutes(onChange: () => void) {
  const timer = setInterval(onChange, 60_000);
  return () => clearInterval(timer);
}

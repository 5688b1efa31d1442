import type { Metadata, Viewport } from "next";
import { headers } from "next/headers";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { loadConfig } from "../env.ts";
import { LocaleProvider } from "../lib/locale.tsx";
import { preferredLocale } from "../server/locale.ts";
import { TRPCReactProvider } from "../trpc/react.tsx";
import "./globals.css";

export const metadata: Metadata = {
  title: "Tasks",
  description: "Your to-do list, the same on every device you sign in on.",
};
export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Rendered per request, so that API_URL is read when the app runs, not frozen in at build
  // time (as a NEXT_PUBLIC_ variable would be): one build serves either deployment.
  await connection();
  const { apiUrl, batchMaxCalls } = loadConfig();
  const locale = preferredLocale((await headers()).get("accept-language"));
  return (
    <html lang="en">
      <body>
        {/* Every page puts its header first, then <main id="main">: the link skips the header. */}
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <LocaleProvider locale={locale}>
          <TRPCReactProvider apiUrl={apiUrl} batchMaxCalls={batchMaxCalls}>
            <div className="page">{children}</div>
          </TRPCReactProvider>
        </LocaleProvider>
      </body>
    </html>
  );
}

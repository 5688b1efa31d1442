import type { Metadata, Viewport } from "next";
import { connection } from "next/server";
import type { ReactNode } from "react";
import { loadConfig } from "../env.ts";
import { TRPCReactProvider } from "../trpc/react.tsx";
import "./globals.css";

export const metadata: Metadata = { title: "Tasks" };
export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default async function RootLayout({ children }: { children: ReactNode }) {
  // Rendered per request, so that API_URL is read when the app runs, not frozen in at build
  // time (as a NEXT_PUBLIC_ variable would be): one build serves either deployment.
  await connection();
  const { apiUrl, batchMaxCalls } = loadConfig();
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider apiUrl={apiUrl} batchMaxCalls={batchMaxCalls}>
          <main>{children}</main>
        </TRPCReactProvider>
      </body>
    </html>
  );
}

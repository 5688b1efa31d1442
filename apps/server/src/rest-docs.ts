import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * The REST API's docs page: Swagger UI from the `swagger-ui-dist` package, served by this server
 * (no CDN: many networks that use the API cannot reach one), rendering `/api/openapi.json`.
 */
const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
};

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Tasks API</title>
    <link rel="stylesheet" href="/api/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="docs"></div>
    <script src="/api/docs/swagger-ui-bundle.js"></script>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs" });\n`;

const assetDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));

/** Answers `/api/docs` and its assets; false for any other path. */
export async function serveDocs(pathname: string, res: ServerResponse): Promise<boolean> {
  if (pathname === "/api/docs" || pathname === "/api/docs/") {
    send(res, "text/html; charset=utf-8", PAGE);
    return true;
  }
  const name = pathname.startsWith("/api/docs/") ? pathname.slice("/api/docs/".length) : null;
  if (name === "init.js") {
    send(res, "text/javascript; charset=utf-8", INIT);
    return true;
  }
  const type = name === null ? undefined : ASSETS[name];
  if (!name || !type) return false;
  send(res, type, await readFile(join(assetDir, name)));
  return true;
}

function send(res: ServerResponse, type: string, body: string | Buffer) {
  res.writeHead(200, { "content-type": type, "cache-control": "public, max-age=3600" }).end(body);
}

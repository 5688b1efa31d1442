// trpc-to-openapi's types import Next.js for its Next adapter, which this server does not use.
// Next's own types, found through the shared store, would make `NODE_ENV` a required key of
// every `process.env`-shaped object here; this stands in for them.
export type NextApiRequest = import("node:http").IncomingMessage;
export type NextApiResponse = import("node:http").ServerResponse;

/**
 * A request's body, or null when it is over `limit` bytes: counted as it arrives, not as
 * announced, so a client cannot make the app buffer more than the limit.
 */
export async function readBody(request: Request, limit: number): Promise<ArrayBuffer | null> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) return null;
  const reader = request.body?.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return new Blob(chunks as BlobPart[]).arrayBuffer();
}

/**
 * A request with the same method, headers and URL, a body already read, and `signal` if given,
 * which ends what the request started (a live stream) when it aborts.
 */
export function withBody(
  request: Request,
  url: URL,
  body: ArrayBuffer | undefined,
  signal?: AbortSignal,
): Request {
  return new Request(url, { method: request.method, headers: request.headers, body, signal });
}

import { graphToJson, type Graph } from '@tessera/core';
import type { Page, Route } from 'playwright';
import type { GraphSource } from './page-api.js';

/** Graphs whose constants take at most this many bytes go inline, in the one call that sends them. */
export const INLINE_WEIGHT_BYTES = 4 << 20;
/**
 * Bytes per chunk of a larger graph's weights. One message of ResNet-50's 98 MiB (130 MB as base64
 * JSON) kills the page; chunks keep every transfer small, whatever the graph.
 */
export const CHUNK_BYTES = 4 << 20;

/**
 * Makes chunk i of `chunks` fetchable by the page at `path` + i (same origin), until the returned
 * function is called.
 */
export type ServeChunks = (path: string, chunks: readonly Uint8Array[]) => Promise<() => Promise<void>>;

let uploads = 0;

/** Bytes of the graph's constants (float32). */
export function weightBytes(graph: Graph): number {
  let bytes = 0;
  for (const t of graph.constants.values()) bytes += t.data.length * 4;
  return bytes;
}

/**
 * Calls `send` (one page call taking the graph) with `graph` as a GraphSource: inline if small;
 * else the JSON without weights, the weights (the sidecar) being served to the page in chunks
 * for as long as `send` runs.
 */
export async function withGraphSource<T>(serve: ServeChunks, graph: Graph, send: (source: GraphSource) => Promise<T>): Promise<T> {
  if (weightBytes(graph) <= INLINE_WEIGHT_BYTES) return send({ json: graphToJson(graph, { weights: 'inline' }).json });
  const { json, sidecar = new Uint8Array(0) } = graphToJson(graph, { weights: 'sidecar' });
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < sidecar.byteLength; start += CHUNK_BYTES) chunks.push(sidecar.subarray(start, start + CHUNK_BYTES));
  const path = `/__tessera/weights/${++uploads}/`;
  const release = await serve(path, chunks);
  try {
    return await send({ json, sidecar: { path, chunks: chunks.length, chunkBytes: CHUNK_BYTES, bytes: sidecar.byteLength } });
  } finally {
    await release().catch(() => undefined); // the page may be gone: nothing left to undo
  }
}

/** ServeChunks for any Playwright page: its requests intercepted (bodies cross as base64, slower than a server). */
export function routeChunks(page: Page): ServeChunks {
  return async (path, chunks) => {
    const matches = (url: URL): boolean => url.pathname.startsWith(path);
    const serve = (route: Route): Promise<void> => {
      const body = chunkAt(chunks, new URL(route.request().url()).pathname.slice(path.length));
      return body ? route.fulfill({ status: 200, body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), contentType: 'application/octet-stream' }) : route.fulfill({ status: 404 });
    };
    await page.route(matches, serve);
    return () => page.unroute(matches, serve);
  };
}

/** The chunk a request names by its index (the rest of the path), or undefined. */
export function chunkAt(chunks: readonly Uint8Array[], index: string): Uint8Array | undefined {
  return /^\d+$/.test(index) ? chunks[Number(index)] : undefined;
}

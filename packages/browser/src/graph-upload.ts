import { graphToJson, type Graph } from '@tessera/core';
import type { Page, Route } from 'playwright';
import type { GraphSource } from './page-api.js';

/** Graphs whose constants take at most this many bytes go inline, in the one call that sends them. */
export const INLINE_WEIGHT_BYTES = 4 << 20;
/**
 * Bytes per chunk of a larger graph's weights. One message of ResNet-50's 98 MiB (130 MB as base64
 * JSON) kills the page; chunks keep every message small, whatever the graph.
 */
export const CHUNK_BYTES = 4 << 20;

let uploads = 0;

/** Bytes of the graph's constants (float32). */
export function weightBytes(graph: Graph): number {
  let bytes = 0;
  for (const t of graph.constants.values()) bytes += t.data.length * 4;
  return bytes;
}

/**
 * Calls `send` (one page call taking the graph) with `graph` as a GraphSource: inline if small;
 * else the JSON without weights, the weights (the sidecar) being served to the page in chunks,
 * as binary responses to its fetches, for as long as `send` runs.
 */
export async function withGraphSource<T>(page: Page, graph: Graph, send: (source: GraphSource) => Promise<T>): Promise<T> {
  if (weightBytes(graph) <= INLINE_WEIGHT_BYTES) return send({ json: graphToJson(graph, { weights: 'inline' }).json });
  const { json, sidecar } = graphToJson(graph, { weights: 'sidecar' });
  const bytes = sidecar ?? new Uint8Array(0);
  const path = `/__tessera/weights/${++uploads}/`;
  const matches = (url: URL): boolean => url.pathname.startsWith(path);
  const serve = (route: Route): Promise<void> => serveChunk(route, bytes, Number(new URL(route.request().url()).pathname.slice(path.length)));
  await page.route(matches, serve);
  try {
    return await send({ json, sidecar: { path, chunks: Math.ceil(bytes.byteLength / CHUNK_BYTES), bytes: bytes.byteLength } });
  } finally {
    await page.unroute(matches, serve).catch(() => undefined); // the page may be gone: nothing left to undo
  }
}

function serveChunk(route: Route, bytes: Uint8Array, index: number): Promise<void> {
  const start = index * CHUNK_BYTES;
  if (!Number.isInteger(index) || index < 0 || start >= bytes.byteLength) return route.fulfill({ status: 404, body: `no weights chunk ${index}` });
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(CHUNK_BYTES, bytes.byteLength - start));
  return route.fulfill({ status: 200, body, contentType: 'application/octet-stream' });
}

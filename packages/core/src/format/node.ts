/**
 * Node-only entry of the format module: file helpers built on the browser-safe core
 * (graph-json.ts, npy.ts). Not exported from @tessera/core's main entry, which must not
 * import node:fs.
 */
export * from './node-io.js';
export { BoundedFile, readFileBounded, readTextBounded, withBoundedFile } from './bounded-read.js';

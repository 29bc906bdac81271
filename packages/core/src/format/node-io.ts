import { readFile, writeFile } from 'node:fs/promises';
import type { Graph } from '../graph.js';
import { FormatError } from './format-error.js';
import { TesseraError } from '../errors.js';
import { graphFromJson, graphToJson, stringifyGraphJson, usesSidecar, type GraphToJsonOptions } from './graph-json.js';
import { readNpy, writeNpy, type NpyArray } from './npy.js';

/**
 * Node-only file helpers for graph files and .npy arrays. Core's main entry does not export
 * this module (it imports node:fs); see format/node.ts.
 */

/** The sidecar path that goes with a graph file: `model.json` -> `model.bin`, `model` -> `model.bin`. */
export function sidecarPathFor(jsonPath: string): string {
  return /\.json$/i.test(jsonPath) ? jsonPath.replace(/\.json$/i, '.bin') : `${jsonPath}.bin`;
}

export interface SavedGraphFiles {
  readonly json: string;
  readonly sidecar?: string;
}

/** Writes `graph` to `path` (and, with `weights: 'sidecar'`, its weights to sidecarPathFor(path)). */
export async function saveGraph(path: string, graph: Graph, opts: GraphToJsonOptions = {}): Promise<SavedGraphFiles> {
  const { json, sidecar } = graphToJson(graph, opts);
  if (sidecar) {
    const binPath = sidecarPathFor(path);
    await writeFile(binPath, sidecar);
    await writeFile(path, stringifyGraphJson(json), 'utf8');
    return { json: path, sidecar: binPath };
  }
  await writeFile(path, stringifyGraphJson(json), 'utf8');
  return { json: path };
}

export interface LoadGraphOptions {
  /** The sidecar file; defaults to sidecarPathFor(path), read only if the file uses one. */
  readonly sidecar?: string;
}

/** Reads a graph file (and its sidecar if it has one). Errors are TesseraErrors naming the file. */
export async function loadGraph(path: string, opts: LoadGraphOptions = {}): Promise<Graph> {
  const text = await readText(path);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError('', `not valid JSON: ${(e as Error).message}`, path);
  }
  let sidecar: Uint8Array | undefined;
  if (usesSidecar(json)) {
    const binPath = opts.sidecar ?? sidecarPathFor(path);
    try {
      sidecar = new Uint8Array(await readFile(binPath));
    } catch (e) {
      throw new FormatError('', `its weights are in the sidecar file '${binPath}', which cannot be read: ${(e as Error).message}`, path);
    }
  }
  try {
    return graphFromJson(json, sidecar);
  } catch (e) {
    if (e instanceof FormatError && e.file === undefined) throw new FormatError(e.path, e.problem, path);
    throw e;
  }
}

export async function readNpyFile(path: string): Promise<NpyArray> {
  const bytes = new Uint8Array(await readFile(path));
  try {
    return readNpy(bytes);
  } catch (e) {
    if (e instanceof TesseraError) throw new FormatError('', e.message, path);
    throw e;
  }
}

export async function writeNpyFile(path: string, shape: readonly number[], data: Float32Array): Promise<void> {
  await writeFile(path, writeNpy(shape, data));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new FormatError('', `cannot read the graph file: ${(e as Error).message}`, path);
  }
}

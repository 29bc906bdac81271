import { writeFile } from 'node:fs/promises';
import type { Graph } from '../graph.js';
import { FormatError } from './format-error.js';
import { BoundedFile, concatBytes, readFileBounded, readTextBounded, withBoundedFile } from './bounded-read.js';
import { GRAPH_FILE_LIMITS } from './json-guard.js';
import { graphFromJson, graphToJson, sidecarBytesNeeded, stringifyGraphJson, usesSidecar, type GraphToJsonOptions } from './graph-json.js';
import { decodeNpyData, npyDataLengthError, readNpyHeader, readNpyPrelude, writeNpy, type NpyArray } from './npy.js';
import { readWeights, type WeightFile } from './weight-file.js';

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
  const text = await readTextBounded(path, GRAPH_FILE_LIMITS.maxFileBytes, 'graph file');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError('', `not valid JSON: ${(e as Error).message}`, path);
  }
  const binPath = opts.sidecar ?? sidecarPathFor(path);
  const sidecar = usesSidecar(json) ? await readSidecar(binPath, sidecarBytesNeeded(json), path) : undefined;
  let graph: Graph;
  try {
    graph = graphFromJson(json, sidecar?.bytes);
  } catch (e) {
    if (e instanceof FormatError && e.file === undefined) throw new FormatError(e.path, e.problem, path);
    throw e;
  }
  if (sidecar?.longer) {
    throw new FormatError('', `the sidecar file '${binPath}' is longer than the ${sidecar.bytes.length} bytes its constants use (is it the sidecar of another graph file?)`, path);
  }
  return graph;
}

/**
 * The bytes of the sidecar its constants use (`need`, from their offsets and lengths), never
 * more: a shorter file is read whole (the loader then names the constant outside it), a longer
 * one is flagged.
 */
async function readSidecar(binPath: string, need: number, graphPath: string): Promise<{ bytes: Uint8Array; longer: boolean }> {
  const f = await BoundedFile.open(binPath, 'sidecar file', (why) => new FormatError('', `its weights are in the sidecar file '${binPath}', which cannot be read: ${why}`, graphPath));
  try {
    const bytes = await f.read(Math.min(need, GRAPH_FILE_LIMITS.maxSidecarBytes));
    return { bytes, longer: !(await f.atEnd()) };
  } finally {
    await f.close();
  }
}

/** Reads a .npy file: the header, then exactly the data bytes it declares (a longer or shorter file is refused). */
export function readNpyFile(path: string): Promise<NpyArray> {
  return withBoundedFile(path, 'npy file', async (f) => {
    try {
      return await readNpyFrom(f);
    } catch (e) {
      if (e instanceof FormatError && e.file === undefined) throw new FormatError(e.path, e.problem, path);
      throw e;
    }
  });
}

async function readNpyFrom(f: BoundedFile): Promise<NpyArray> {
  // Version 1.0 has a 2-byte header length, later ones 4 bytes: read no further than the prelude.
  let start = await f.read(10);
  if (start.length === 10 && (start[6] === 2 || start[6] === 3)) start = concatBytes([start, await f.read(2)]);
  const prelude = readNpyPrelude(start);
  const head = new Uint8Array(prelude.dataStart);
  head.set(start);
  const rest = await f.read(head.length - start.length);
  head.set(rest, start.length);
  if (start.length + rest.length < head.length) {
    throw new FormatError('npy header', `declares ${prelude.dataStart - prelude.headerStart} bytes, but the file ends after ${start.length + rest.length - prelude.headerStart}`);
  }
  const header = readNpyHeader(head, prelude);
  // A regular file's size says at once whether the data fits; anything else is read up to the need.
  const known = f.remaining;
  if (known !== undefined && known !== header.dataBytes) npyDataLengthError(header, known);
  const data = await f.read(header.dataBytes);
  if (data.length < header.dataBytes) npyDataLengthError(header, data.length);
  if (!(await f.atEnd())) npyDataLengthError(header, header.dataBytes, true);
  return decodeNpyData(header, data);
}

export async function writeNpyFile(path: string, shape: readonly number[], data: Float32Array): Promise<void> {
  await writeFile(path, writeNpy(shape, data));
}

/** Largest weight file read whole (a float32 ResNet-50 is 100 MB; a few GB is beyond a WebAssembly memory anyway). */
export const WEIGHT_FILE_LIMIT = 2 ** 31 - 1;

/** Reads an .npz or .safetensors file of named tensors (see `readWeights`). */
export async function readWeightsFile(path: string): Promise<WeightFile> {
  return readWeights(await readFileBounded(path, WEIGHT_FILE_LIMIT, 'weight file'), path);
}

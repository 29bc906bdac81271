import { parseGraphJson, type Graph } from '@tessera/core';
import { EXAMPLES } from '@tessera/examples';
import { importOnnx } from '@tessera/onnx';

/*
 * Where the page's graphs come from: the examples by name (the CLI's list), or files the user
 * opens, read by a loader chosen by the file's extension (Tessera JSON, ONNX; more with
 * `registerGraphLoader`).
 */

export const EXAMPLE_NAMES: readonly string[] = Object.keys(EXAMPLES);

export function exampleGraph(name: string): Graph {
  const build = Object.hasOwn(EXAMPLES, name) ? EXAMPLES[name] : undefined;
  if (!build) throw new Error(`no example '${name}' (examples: ${EXAMPLE_NAMES.join(', ')})`);
  return build();
}

/** Reads a graph from `file`; `others` are the other files picked with it (a JSON graph's sidecar weights). */
export type GraphLoader = (file: File, others: readonly File[]) => Promise<Graph>;

const LOADERS = new Map<string, GraphLoader>([
  ['.json', loadJson],
  // An ONNX model keeps its NCHW interface (transposes at the boundary, removed inside by O1's layout pass).
  ['.onnx', loadOnnx],
]);

/** Adds or replaces the loader of an extension ('.onnx'). */
export function registerGraphLoader(extension: string, loader: GraphLoader): void {
  LOADERS.set(extension.toLowerCase(), loader);
}

/** The extensions the file picker offers. */
export function loaderExtensions(): string[] {
  return [...LOADERS.keys()];
}

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

/** The graph in the picked files: the first file with a loader is the graph, the others go with it. */
export async function graphFromFiles(files: readonly File[]): Promise<Graph> {
  const main = files.find((f) => LOADERS.has(extensionOf(f.name)));
  if (!main) throw new Error(`no graph among ${files.map((f) => f.name).join(', ') || 'no files'}: expected one of ${loaderExtensions().join(', ')}`);
  return LOADERS.get(extensionOf(main.name))!(main, files.filter((f) => f !== main));
}

/** A graph JSON file (docs/FORMAT.md), with its sidecar `<name>.bin` when that was picked too. */
async function loadJson(file: File, others: readonly File[]): Promise<Graph> {
  const sidecarName = `${file.name.slice(0, -'.json'.length)}.bin`;
  const sidecar = others.find((f) => f.name === sidecarName);
  try {
    return parseGraphJson(await file.text(), sidecar && new Uint8Array(await sidecar.arrayBuffer()));
  } catch (e) {
    const hint = sidecar ? '' : ` (if its weights are in ${sidecarName}, pick both files)`;
    throw new Error(`${file.name}: ${e instanceof Error ? e.message : String(e)}${hint}`);
  }
}

async function loadOnnx(file: File): Promise<Graph> {
  try {
    return importOnnx(new Uint8Array(await file.arrayBuffer()), { name: file.name.replace(/\.onnx$/i, '') });
  } catch (e) {
    throw new Error(`${file.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * The page the Node-side browser runner drives: it plans and compiles graphs it is sent on a
 * backend of this page (webgl, cpu, workers) and runs them. Node's session checks feeds and
 * serializes runs, so the page runs the backend's executables directly.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import '@tessera/backend-webgl';
import { graphFromJson, OPS, type Graph } from '@tessera/core';
import { backendNames, defaultContainer, getBackend, planExecution, type ExecutionPlan, type Executable, type NodeObserver } from '@tessera/runtime';
import { fromBase64, toBase64 } from '../src/base64.js';
import { planFromData, planToData, type GraphSource, type PageApi } from '../src/page-api.js';

const executables = new Map<number, Executable>();
/** Graphs planned here and not compiled yet. */
const planned = new Map<number, { graph: Graph; plan: ExecutionPlan }>();
let nextId = 1;

const backend = (name: string) => getBackend(defaultContainer, name);

/** The graph Node sent: its JSON, with the weights inline or fetched chunk by chunk from Node. */
async function graphOf(source: GraphSource): Promise<Graph> {
  return graphFromJson(source.json, source.sidecar && (await fetchSidecar(source.sidecar)));
}

/** Chunks fetched at a time: faster than one by one, and a bounded part of the weights in flight. */
const FETCHES_IN_FLIGHT = 4;

async function fetchSidecar({ path, chunks, chunkBytes, bytes }: NonNullable<GraphSource['sidecar']>): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  let next = 0;
  const fetchChunks = async (): Promise<void> => {
    for (let i = next++; i < chunks; i = next++) out.set(await fetchChunk(`${path}${i}`, Math.min(chunkBytes, bytes - i * chunkBytes)), i * chunkBytes);
  };
  await Promise.all(Array.from({ length: Math.min(FETCHES_IN_FLIGHT, chunks) }, fetchChunks));
  return out;
}

async function fetchChunk(url: string, expected: number): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`weights chunk ${url}: HTTP ${response.status}`);
  const chunk = new Uint8Array(await response.arrayBuffer());
  if (chunk.length !== expected) throw new Error(`weights chunk ${url}: ${chunk.length} bytes, ${expected} expected`);
  return chunk;
}

/** The graph and plan to compile: one planned here (taken from `planned`), or one sent with its plan. */
async function jobOf(source: Parameters<PageApi['compile']>[0]): Promise<{ graph: Graph; plan: ExecutionPlan }> {
  if (typeof source !== 'number') {
    const graph = await graphOf(source.graph);
    return { graph, plan: planFromData(graph, source.plan) };
  }
  const job = planned.get(source);
  if (!job) throw new Error(`no graph planned under id ${source} in the page`);
  planned.delete(source);
  return job;
}

const api: PageApi = {
  backends: () => backendNames(),
  kernels: (name) => Object.keys(OPS).filter((op) => backend(name).hasKernel(op)),
  async plan(source, name, options) {
    const graph = await graphOf(source);
    const b = backend(name);
    const plan = b.plan ? await b.plan(graph, options) : planExecution(graph, options);
    const id = nextId++;
    planned.set(id, { graph, plan });
    return { id, plan: planToData(plan) };
  },
  async compile(source, name) {
    const { graph, plan } = await jobOf(source);
    const executable = await backend(name).compile(graph, plan);
    const id = nextId++;
    executables.set(id, executable);
    const { gemmPath, gemmReason, algorithms, epilogues } = executable;
    return { id, gemmPath, gemmReason, algorithms: [...(algorithms ?? [])], epilogues: [...(epilogues ?? [])] };
  },
  async run(id, feeds, observe) {
    const executable = executables.get(id);
    if (!executable) throw new Error(`no compiled graph ${id} in the page (disposed?)`);
    const decoded = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, fromBase64(v)]));
    const t0 = performance.now();
    const nodes: [string, number, number][] = [];
    const starts = new Map<string, number>();
    const observer: NodeObserver = {
      nodeStart: (node) => void starts.set(node.name, performance.now() - t0),
      nodeEnd: (node) => void nodes.push([node.name, starts.get(node.name) ?? 0, performance.now() - t0]),
    };
    const outputs = await executable.run(decoded, observe ? observer : undefined);
    const ms = performance.now() - t0;
    return { outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, toBase64(v)])), nodes: observe ? nodes : null, ms };
  },
  /** Frees a compiled graph, or a planned one that no compile took (ids are unique across both). */
  dispose(id) {
    executables.get(id)?.dispose();
    executables.delete(id);
    planned.delete(id);
  },
  held: () => ({ planned: planned.size, executables: executables.size }),
};

(globalThis as { tessera?: PageApi }).tessera = api;
document.title = 'ready';

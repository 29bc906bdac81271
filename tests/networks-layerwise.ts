/**
 * Layer-by-layer agreement with the float64 reference. Over 50 layers the reference's bound (an
 * interval carried through every layer) grows to many times the values themselves, so agreement
 * at the output alone says little. Here each layer is checked on its own: its nodes are
 * evaluated by the reference from the float32 values the implementation under test produced for
 * the layer's operands (taken as exact), and the implementation's output of the layer must be
 * within that local bound. A wrong op, attribute or wiring anywhere shows at its layer.
 */
import { compareToReference, evaluate, Graph, type Comparison, type Feeds, type Node } from '@tessera/core';

export interface LayerCheck extends Comparison {
  readonly layer: string;
}

/** The nodes of `graph` grouped by `layerOf(node name)`, in order (a layer's nodes are a chain). */
function layers(graph: Graph, layerOf: (node: string) => string): Map<string, Node[]> {
  const out = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    const layer = layerOf(n.name);
    (out.get(layer) ?? out.set(layer, []).get(layer)!).push(n);
  }
  return out;
}

/** One layer as a graph of its own: its operands from other layers become inputs; its last node is the output. */
function layerGraph(graph: Graph, layer: string, nodes: readonly Node[]): Graph {
  const own = new Set(nodes.map((n) => n.name));
  const operands = [...new Set(nodes.flatMap((n) => n.inputs))].filter((i) => !own.has(i));
  const inputs = operands.filter((i) => graph.kind(i) !== 'constant').map((i) => graph.value(i));
  const constants = new Map(operands.filter((i) => graph.kind(i) === 'constant').map((i) => [i, graph.constants.get(i)!]));
  return new Graph({ name: layer, inputs, constants, nodes, outputs: { y: nodes[nodes.length - 1].name } });
}

/**
 * Checks every layer of `graph` whose output `actual` holds (by layer name), with operands from
 * `actual` too (a graph input from `feeds`). `layerOf` names a node's layer: the node's own name
 * to check node by node. Throws if a layer has no value in `actual` or `actual` has a layer the
 * graph lacks.
 */
export function checkLayers(graph: Graph, feeds: Feeds, actual: ReadonlyMap<string, Float32Array>, layerOf: (node: string) => string = (n) => n): LayerCheck[] {
  const groups = layers(graph, layerOf);
  const extra = [...actual.keys()].filter((l) => !groups.has(l));
  if (extra.length) throw new Error(`layers computed but not in graph '${graph.name}': ${extra.join(', ')}`);
  const value = (name: string): Float32Array => {
    const v = graph.kind(name) === 'input' ? feeds[name] : actual.get(layerOf(name));
    if (!v) throw new Error(`no value for layer '${layerOf(name)}' of graph '${graph.name}'`);
    return v as Float32Array;
  };
  const checks: LayerCheck[] = [];
  for (const [layer, nodes] of groups) {
    const sub = layerGraph(graph, layer, nodes);
    const ref = evaluate(sub, Object.fromEntries(sub.inputs.map((v) => [v.name, value(v.name)]))).y;
    checks.push({ layer, ...compareToReference(value(nodes[nodes.length - 1].name), ref) });
  }
  return checks;
}

/** A copy of `graph` whose outputs are all its nodes (by node name), to read every intermediate value from a backend. */
export function everyNodeAnOutput(graph: Graph): Graph {
  const outputs = Object.fromEntries(graph.nodes.map((n) => [n.name, n.name]));
  return new Graph({ name: graph.name, inputs: graph.inputs, constants: graph.constants, nodes: graph.nodes, outputs });
}

import type { Conv2dAttrs, Graph, Node, Padding } from '@tessera/core';

export function convAttrs(n: Node): Conv2dAttrs & { relu?: boolean } {
  return n.attrs as unknown as Conv2dAttrs & { relu?: boolean };
}

/** True if the padding adds no cells for a 1x1 window (SAME pads nothing for k = 1; VALID never does). */
export function padsNothingFor1x1(padding: Padding): boolean {
  return padding === 'SAME' || padding === 'VALID' || padding.every(([a, b]) => a === 0 && b === 0);
}

/** The filter shape of a conv / fused_conv2d node. */
export function filterShape(graph: Graph, n: Node): readonly number[] {
  return graph.value(n.inputs[1]).shape;
}

export function is1x1(graph: Graph, n: Node): boolean {
  const [kh, kw] = filterShape(graph, n);
  return kh === 1 && kw === 1;
}

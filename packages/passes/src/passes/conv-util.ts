import { attrsOf, conv2d, fusedConv2d, type Activation, type Conv2dAttrs, type Graph, type Node, type Padding } from '@tessera/core';

/** The geometry attributes (strides, padding, dilations) of a conv2d / fused_conv2d node. */
export function convAttrs(n: Node): Conv2dAttrs {
  return n.op === 'fused_conv2d' ? attrsOf(n, fusedConv2d) : attrsOf(n, conv2d);
}

/** The activation of a conv2d / fused_conv2d node ('none' for a plain conv2d). */
export function convActivation(n: Node): Activation {
  return n.op === 'fused_conv2d' ? attrsOf(n, fusedConv2d).activation : 'none';
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

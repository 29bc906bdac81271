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

/** A product (output channels last, weights operand 1) and the fused op it becomes with a bias. */
export interface Product {
  readonly op: 'conv2d' | 'depthwise_conv2d' | 'matmul';
  readonly fused: 'fused_conv2d' | 'fused_depthwise_conv2d' | 'fused_matmul';
}

/** The products the fusion and batch-norm folding passes rewrite. */
export const PRODUCTS: readonly Product[] = [
  { op: 'conv2d', fused: 'fused_conv2d' },
  { op: 'depthwise_conv2d', fused: 'fused_depthwise_conv2d' },
  { op: 'matmul', fused: 'fused_matmul' },
];

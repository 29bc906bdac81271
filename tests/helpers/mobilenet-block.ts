/**
 * MobileNet v2's inverted-residual block for the workers tests: 1x1 expand conv -> batch_norm ->
 * relu6 -> 3x3 depthwise -> batch_norm -> relu6 -> 1x1 project conv -> batch_norm -> add (the
 * block's input); or, as the fusion pass leaves it (`fused`), with biases in place of the
 * batch norms and the depthwise step a fused_depthwise_conv2d (bias + relu6).
 */
import { GraphBuilder, randomTensor, Tensor, type Graph, type SymbolicValue } from '@tessera/core';

export interface BlockOptions {
  readonly batch: number;
  readonly size: number;
  readonly channels: number;
  readonly expansion: number;
  readonly fused?: boolean;
}

export function mobilenetBlock({ batch, size, channels, expansion, fused = false }: BlockOptions): Graph {
  const g = new GraphBuilder(`mobilenet-block${fused ? '-fused' : ''}-b${batch}`);
  const wide = channels * expansion;
  let seed = 1;
  const constant = (name: string, shape: number[]) => g.constant(name, randomTensor(shape, seed++));
  // Variances positive and away from 0, so the normalized values stay in a MobileNet's range.
  const bn = (x: SymbolicValue, c: number, name: string) => {
    const variance = new Tensor([c], randomTensor([c], seed++).data.map((v) => 0.5 + Math.abs(v)));
    return g.batchNorm(x, constant(`${name}_mean`, [c]), g.constant(`${name}_var`, variance), constant(`${name}_offset`, [c]), constant(`${name}_scale`, [c]));
  };
  const norm = (x: SymbolicValue, c: number, name: string) => (fused ? g.biasAdd(x, constant(`${name}_bias`, [c])) : bn(x, c, name));
  const x = g.input('x', [batch, size, size, channels]);
  const expand = g.relu6(norm(g.conv2d(x, constant('expand', [1, 1, channels, wide]), { padding: 'VALID' }), wide, 'bn0'));
  const filter = constant('dw', [3, 3, wide, 1]);
  const dw = fused
    ? g.op('fused_depthwise_conv2d', [expand, filter, constant('dw_bias', [wide])], { padding: 'SAME', activation: 'relu6' })
    : g.relu6(bn(g.depthwiseConv2d(expand, filter, { padding: 'SAME' }), wide, 'bn1'));
  const project = norm(g.conv2d(dw, constant('project', [1, 1, wide, channels]), { padding: 'VALID' }), channels, 'bn2');
  return g.build({ y: g.add(project, x) });
}

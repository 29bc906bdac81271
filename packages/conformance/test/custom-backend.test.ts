/**
 * The example backend of docs/BACKENDS.md (examples/custom-backend) through the vitest helper,
 * exactly as a third party would run the suite on their own backend: one test per property.
 */
import { createContainer } from '@tessera/runtime';
import { registerLoopsBackend } from '../../../examples/custom-backend/loops-backend.js';
import { describeConformance, conformanceProperties } from '../src/vitest.js';
import { describe, expect, it } from 'vitest';

const container = createContainer();
registerLoopsBackend(container);

describeConformance('loops', { container, seed: 20_240_611 });

describe('conformanceProperties', () => {
  it('lists every op, the random graphs (plain and through bound IO) and the non-finite / extreme properties by default', () => {
    expect(conformanceProperties()).toEqual([
      'conv2d', 'fused_conv2d', 'bias_add', 'relu', 'maxpool', 'reshape', 'matmul', 'fused_matmul', 'slice', 'add', 'mul', 'relu6', 'pad', 'concat', 'transpose',
      'avg_pool', 'mean', 'softmax', 'batch_norm', 'depthwise_conv2d', 'fused_depthwise_conv2d',
      'graphs', 'bound-io', 'nonfinite', 'extreme',
    ]);
    expect(conformanceProperties({ graphs: 10, boundIO: 0 })).not.toContain('bound-io');
    expect(conformanceProperties({ ops: ['relu'], graphs: 0, special: [] })).toEqual(['relu']);
  });
});

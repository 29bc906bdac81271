/**
 * Bugs that only show past a blocking threshold, on split ranges, or in a mistake the reference
 * shares with the backend (issue 21): each needs the suite to reach the case, not just to look.
 */
import { CPU_KERNELS, view, type CpuKernel, type Memory, type Ref, type Step } from '@tessera/backend-cpu/kernels';
import { evaluate, windowAxis, type Feeds, type Graph, type Node, type Padding } from '@tessera/core';
import type { MutantSpec, StepRunner } from './backend.js';
import { faultyGemm } from './gemm.js';
import { samePadSwapped } from './kernels.js';

/** (a) GEMM edge tile (N not a multiple of the register block) drops earlier k-blocks when K > 256. */
export const gemmEdgeTileDropsK: MutantSpec = { gemm: faultyGemm({ edgeTileForgetsK: true }) };
/** (b) GEMM bias pointer from the block-local column: wrong bias past the first 512-column block. */
export const gemmBiasBlockLocal: MutantSpec = { gemm: faultyGemm({ biasBlockLocal: true }) };
/** (c) GEMM bias / relu epilogue after every k-block (K > 256) instead of the last. */
export const gemmEpilogueEveryK: MutantSpec = { gemm: faultyGemm({ epilogueEveryK: true }) };
/** (d) transposed-A packing drops the row-block offset (M > 60, the row block). */
export const gemmTransARowBlock: MutantSpec = { gemm: faultyGemm({ transAIgnoresRowBlock: true }) };
/** The same GEMM copy without a bug: the control. */
export const gemmCopy: MutantSpec = { gemm: faultyGemm({}) };

interface BiasAddStep extends Step {
  readonly x: Ref;
  readonly bias: Ref;
  readonly channels: number;
  readonly y: Ref;
}

/** Each step in two ranges split at the middle unit (anywhere in a row), as a forced split would. */
const splitInTwo: StepRunner = (kernel, step, mem, scratch) => {
  const mid = Math.floor(step.units / 2);
  for (const [a, b] of [[0, mid], [mid, step.units]]) if (b > a) kernel.run(step, mem, a, b, scratch.get(kernel.scratchSize?.(step, a, b) ?? 0));
};

/**
 * (e) bias_add whose range is assumed to start at channel 0: right whenever a range starts at a
 * row boundary, as every step does when small graphs run inline (the default); wrong when a
 * forced split starts a range mid-row (the '-split' variant).
 */
export const biasAddRangeChannel0: MutantSpec = {
  kernels: {
    bias_add: {
      ...CPU_KERNELS.find((k) => k.op === 'bias_add')!,
      run(s: BiasAddStep, mem: Memory, start: number, end: number) {
        const x = view(mem, s.x);
        const b = view(mem, s.bias);
        const y = view(mem, s.y);
        let ch = 0; // the bug: should be start % channels
        for (let i = start; i < end; i++) {
          y[s.y.off + i] = x[s.x.off + i] + b[s.bias.off + ch];
          if (++ch === s.channels) ch = 0;
        }
      },
    } as CpuKernel,
  },
  splitRunStep: splitInTwo,
};

/** SAME padding of a conv node with the odd pixel before instead of after, as explicit pads. */
function swapSamePads(node: Node, graph: Graph): Node {
  if ((node.op !== 'conv2d' && node.op !== 'fused_conv2d') || node.attrs.padding !== 'SAME') return node;
  const [, inH, inW] = graph.value(node.inputs[0]).shape;
  const [kH, kW] = graph.value(node.inputs[1]).shape;
  const strides = (node.attrs.strides as [number, number] | undefined) ?? [1, 1];
  const dilations = (node.attrs.dilations as [number, number] | undefined) ?? [1, 1];
  const h = windowAxis('height', inH, kH, strides[0], dilations[0], 'SAME');
  const w = windowAxis('width', inW, kW, strides[1], dilations[1], 'SAME');
  const padding: Padding = [[h.padAfter, h.padBefore], [w.padAfter, w.padBefore]];
  return { ...node, attrs: { ...node.attrs, padding } };
}

/**
 * (f) The same SAME-padding mistake in the reference and the backend (they share core's
 * window.ts): the backend agrees with its reference; only an independent oracle sees it.
 */
export const samePadSwappedShared: MutantSpec & { readonly reference: (graph: Graph, feeds: Feeds) => ReturnType<typeof evaluate> } = {
  ...samePadSwapped,
  reference: (graph, feeds) => evaluate(graph.with({ nodes: graph.nodes.map((n) => swapSamePads(n, graph)) }), feeds),
};

import { describe, expect, test } from 'vitest';
import { Graph, GraphBuilder, OPS, concatGeometry, exactRef, graphFromJson, graphToJson, refTensor } from '../../src/index.js';
import { reference } from './reference.js';

describe('concat', () => {
  test('joins along the last axis, any axis, and negative axes', () => {
    const a: [number[], number[]] = [[2, 2], [1, 2, 3, 4]];
    const b: [number[], number[]] = [[2, 1], [5, 6]];
    const y = reference('concat', [a, b], { axis: 1 });
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.value)).toEqual([1, 2, 5, 3, 4, 6]);
    expect(Array.from(reference('concat', [a, b], { axis: -1 }).value)).toEqual([1, 2, 5, 3, 4, 6]);
    const z = reference('concat', [a, [[1, 2], [7, 8]]], { axis: 0 });
    expect(z.shape).toEqual([3, 2]);
    expect(Array.from(z.value)).toEqual([1, 2, 3, 4, 7, 8]);
  });

  test('one operand is a copy; three operands in a middle axis', () => {
    expect(Array.from(reference('concat', [[[3], [1, 2, 3]]], { axis: 0 }).value)).toEqual([1, 2, 3]);
    // [2,1,2] ++ [2,2,2] ++ [2,1,2] on axis 1
    const y = reference('concat', [[[2, 1, 2], [1, 2, 3, 4]], [[2, 2, 2], [10, 11, 12, 13, 14, 15, 16, 17]], [[2, 1, 2], [-1, -2, -3, -4]]], { axis: -2 });
    expect(y.shape).toEqual([2, 4, 2]);
    expect(Array.from(y.value)).toEqual([1, 2, 10, 11, 12, 13, -1, -2, 3, 4, 14, 15, 16, 17, -3, -4]);
    expect(concatGeometry([[2, 1, 2], [2, 2, 2], [2, 1, 2]], 1)).toEqual({ outer: 2, inner: [2, 4, 2], offsets: [0, 2, 6], total: 8 });
  });

  test('bounds and zero signs are copied from each operand (unspecified where an operand has none)', () => {
    const a = { ...refTensor([2], Float64Array.of(-0, 1), Float64Array.of(0, 0.5)), zeroSign: Uint8Array.of(1, 1) };
    const b = refTensor([1], Float64Array.of(-0), Float64Array.of(0.25));
    const y = OPS.concat.reference([a, b], { axis: 0 }, [3]);
    expect(Array.from(y.bound)).toEqual([0, 0.5, 0.25]);
    expect(Array.from(y.zeroSign!)).toEqual([1, 1, 0]);
    expect(OPS.concat.reference([b, b], { axis: 0 }, [2]).zeroSign).toBeUndefined();
    expect(OPS.concat.reference([exactRef([1], [0])], { axis: 0 }, [1]).zeroSign).toBeDefined();
  });

  test('rejections: axis out of range, different ranks, a dimension other than the axis differs, scalars, no operand', () => {
    const g = new GraphBuilder('c');
    const x = g.input('x', [1, 4, 4, 3]);
    const y = g.input('y', [1, 4, 4, 5]);
    expect(g.concat([x, y], { axis: 3 }).shape).toEqual([1, 4, 4, 8]);
    expect(g.concat([x, y, x], { axis: -1 }).shape).toEqual([1, 4, 4, 11]);
    expect(() => g.concat([x, y], { axis: 4, name: 'a' })).toThrow("node 'a' (concat): axis 4 is out of range for values of rank 4 (-4 to 3)");
    expect(() => g.concat([x, y], { axis: -5, name: 'a2' })).toThrow(/axis -5 is out of range/);
    expect(() => g.concat([x, g.input('r', [4, 4, 3])], { axis: 0, name: 'b' })).toThrow(
      "node 'b' (concat): values[1] [4,4,3] has rank 3, values[0] [1,4,4,3] rank 4: all must have the same rank",
    );
    expect(() => g.concat([x, y], { axis: 2, name: 'c' })).toThrow(
      "node 'c' (concat): values[1] [1,4,4,5] differs from values[0] [1,4,4,3] on dimension 3 (5 against 3); only the concat axis 2 may differ",
    );
    expect(() => g.concat([g.input('s', []), g.input('t', [])], { axis: 0, name: 'd' })).toThrow(/node 'd' \(concat\): values\[0\] is a scalar/);
    expect(() => g.concat([], { axis: 0, name: 'e' })).toThrow("node 'e' (concat): expects 1 or more operands (values...), got 0");
  });

  test('variadic operands go through Graph verification and the JSON format', () => {
    const g = new GraphBuilder('v');
    const xs = [1, 2, 3, 4, 5].map((c, i) => g.input(`x${i}`, [2, c]));
    const y = g.concat(xs, { axis: 1, name: 'y' });
    const graph = g.build({ y });
    expect(graph.nodes[0].inputs).toHaveLength(5);
    expect(graph.value('y').shape).toEqual([2, 15]);
    const back = graphFromJson(graphToJson(graph).json);
    expect(back.nodes[0].inputs).toEqual(['x0', 'x1', 'x2', 'x3', 'x4']);
    expect(() => new Graph({ ...graph.parts(), nodes: [{ ...graph.nodes[0], inputs: [] }] })).toThrow("node 'y' (concat): expects 1 or more operands (values...), got 0");
    const json = graphToJson(graph).json;
    expect(() => graphFromJson({ ...json, nodes: [{ ...json.nodes[0], inputs: [] }] })).toThrow('nodes[0].inputs: concat takes 1 or more operands (values...), got 0');
    // A graph file holds at most 16 operands per node: saving more is refused at once.
    const h = new GraphBuilder('wide');
    const x = h.input('x', [1, 2]);
    const wide = h.build({ y: h.concat(new Array(17).fill(x), { axis: 0 }) });
    expect(wide.value('concat_1').shape).toEqual([17, 2]);
    expect(() => graphToJson(wide)).toThrow("cannot save: node 'concat_1' (concat) has 17 operands; a graph file holds at most 16 per node");
  });
});

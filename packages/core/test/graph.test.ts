import { describe, expect, test } from 'vitest';
import { Graph, Tensor, type Node, type Shape, type ValueInfo } from '../src/index.js';

const info = (name: string, shape: Shape): ValueInfo => ({ name, shape, dtype: 'float32' });
const node = (name: string, op: string, inputs: string[], shape: Shape, attrs: Record<string, unknown> = {}): Node => ({
  name,
  op,
  attrs,
  inputs,
  output: info(name, shape),
});
const parts = (nodes: Node[], outputs: Record<string, string> = { y: nodes[nodes.length - 1]?.name ?? 'x' }) => ({
  name: 'g',
  inputs: [info('x', [2, 3])],
  constants: new Map([['w', new Tensor([3, 4])]]),
  nodes,
  outputs,
});

describe('Graph verifier', () => {
  test('accepts a valid graph, whatever the node order, and keeps nodes in topological order', () => {
    const g = new Graph(parts([node('r', 'relu', ['mm'], [2, 4]), node('mm', 'matmul', ['x', 'w'], [2, 4])], { y: 'r' }));
    expect(g.nodes.map((n) => n.name)).toEqual(['mm', 'r']);
    expect(g.producer('r')?.op).toBe('relu');
    expect(g.consumers('mm').map((n) => n.name)).toEqual(['r']);
    expect([g.kind('x'), g.kind('w'), g.kind('mm')]).toEqual(['input', 'constant', 'node']);
    // attributes are parsed and defaults filled
    expect(g.producer('mm')?.attrs).toEqual({ transposeA: false, transposeB: false });
  });

  test('rejects a cycle, naming the nodes on it', () => {
    expect(() => new Graph(parts([node('a', 'relu', ['b'], [2, 3]), node('b', 'relu', ['a'], [2, 3])]))).toThrow(
      "graph 'g' has a cycle through nodes a, b",
    );
    expect(() => new Graph(parts([node('s', 'relu', ['s'], [2, 3])]))).toThrow(/cycle through nodes s/);
  });

  test('rejects an undefined operand, naming the node', () => {
    expect(() => new Graph(parts([node('r', 'relu', ['nope'], [2, 3])]))).toThrow("node 'r' (relu): operand 'nope' is not defined");
  });

  test('rejects a value defined twice: two nodes, a node and an input, an input and a constant', () => {
    expect(() => new Graph(parts([node('r', 'relu', ['x'], [2, 3]), node('r', 'relu', ['x'], [2, 3])]))).toThrow("value 'r' is defined more than once");
    expect(() => new Graph(parts([node('x', 'relu', ['w'], [3, 4])]))).toThrow("value 'x' is defined more than once");
    expect(() => new Graph({ ...parts([]), constants: new Map([['x', new Tensor([1])]]) })).toThrow("value 'x' is defined more than once");
  });

  test('rejects a recorded output shape that differs from the inferred one', () => {
    expect(() => new Graph(parts([node('mm', 'matmul', ['x', 'w'], [2, 3])]))).toThrow(
      "node 'mm' (matmul): recorded output shape [2,3] differs from the inferred [2,4]",
    );
    expect(() => new Graph(parts([node('r', 'relu', ['x'], [3, 2])]))).toThrow(/node 'r' \(relu\): recorded output shape \[3,2\] differs from the inferred \[2,3\]/);
  });

  test('rejects shape errors of the op itself, unknown ops, bad attributes and operand counts, naming the node', () => {
    expect(() => new Graph(parts([node('mm', 'matmul', ['w', 'x'], [3, 3])]))).toThrow(/node 'mm' \(matmul\): inner dimensions differ/);
    expect(() => new Graph(parts([node('z', 'no_such_op', ['x'], [2, 3])]))).toThrow("node 'z' (no_such_op): unknown op 'no_such_op'");
    expect(() => new Graph(parts([node('r', 'relu', ['x'], [2, 3], { leak: 1 })]))).toThrow(/node 'r' \(relu\): invalid attributes: .*leak/);
    expect(() => new Graph(parts([node('r', 'relu', ['x', 'x'], [2, 3])]))).toThrow("node 'r' (relu): expects 1 operand (x), got 2");
  });

  test('rejects outputs that name no value, and a graph without outputs', () => {
    expect(() => new Graph(parts([node('r', 'relu', ['x'], [2, 3])], { y: 'q' }))).toThrow("output 'y' refers to undefined value 'q'");
    expect(() => new Graph(parts([node('r', 'relu', ['x'], [2, 3])], {}))).toThrow("graph 'g' has no outputs");
  });
});

/**
 * `tessera draw`: the SVG it writes is well-formed XML whose boxes are exactly the graph's inputs
 * and nodes (constants folded onto their consumers), whose arrows are exactly its data
 * dependencies, and whose fused ops are marked; DOT output parses as DOT with the same nodes and
 * edges; before / after panels; every example name and .json files; bad input named.
 */
import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';
import { EXAMPLES, seedCnn } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { parse as parseDot } from '@ts-graphviz/ast';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { captureCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-draw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The fused ops the fusion pass creates, listed here independently of @tessera/draw's rule. */
const FUSED_OPS = new Set(['fused_conv2d', 'fused_matmul', 'fused_depthwise_conv2d']);

const cli = (...argv: string[]) => captureCli(argv);

/** Parses SVG text; any XML error (even a recoverable one) throws. */
function parseSvg(text: string): Element {
  const doc = new DOMParser({
    onError: (level, message) => {
      throw new Error(`SVG is not well-formed (${level}): ${message}`);
    },
  }).parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement!;
  expect(root.tagName).toBe('svg');
  expect(root.getAttribute('xmlns')).toBe('http://www.w3.org/2000/svg');
  return root;
}

function elements(root: Element, tag: string, cls?: string): Element[] {
  return Array.from(root.getElementsByTagName(tag)).filter((e) => !cls || (e.getAttribute('class') ?? '').split(' ').includes(cls));
}

/** The panel `<g data-panel=key>` of a drawing. */
function panel(root: Element, key: string): Element {
  const found = elements(root, 'g', 'panel').filter((g) => g.getAttribute('data-panel') === key);
  expect(found).toHaveLength(1);
  return found[0];
}

/** What a picture should hold, from the graph itself: boxes (inputs and nodes), arrows (non-constant operands). */
function expected(graph: Graph) {
  const boxes = [...graph.inputs.map((v) => v.name), ...graph.nodes.map((n) => n.name)].sort();
  const arrows = [...new Set(graph.nodes.flatMap((n) => n.inputs.filter((i) => graph.kind(i) !== 'constant').map((i) => `${i} -> ${n.name}`)))].sort();
  const fused = graph.nodes.filter((n) => FUSED_OPS.has(n.op)).map((n) => n.name).sort();
  return { boxes, arrows, fused };
}

/** The boxes, arrows and fused boxes an SVG (panel) shows. */
function drawn(scope: Element) {
  const nodes = elements(scope, 'g', 'node');
  return {
    boxes: nodes.map((g) => g.getAttribute('data-node')!).sort(),
    arrows: elements(scope, 'path', 'edge').map((p) => `${p.getAttribute('data-from')} -> ${p.getAttribute('data-to')}`).sort(),
    fused: nodes.filter((g) => g.getAttribute('class')!.split(' ').includes('fused')).map((g) => g.getAttribute('data-node')!).sort(),
    nodes,
  };
}

/** The text lines of a box (its <text> children, not the tooltip). */
function boxText(g: Element): string[] {
  return elements(g, 'text').map((t) => t.textContent ?? '');
}

describe('tessera draw', () => {
  it('draw seed-cnn --level O1 -o x.svg: a well-formed SVG whose boxes are the optimized graph\'s inputs and nodes, arrows its dependencies, fused ops marked', async () => {
    const file = join(dir, 'x.svg');
    const r = await cli('draw', 'seed-cnn', '--level', 'O1', '-o', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const root = parseSvg(readFileSync(file, 'utf8'));
    const graph = optimize(seedCnn(), { level: 'O1' }).graph;
    const want = expected(graph);
    const got = drawn(root);
    expect(got.boxes).toEqual(want.boxes);
    expect(got.arrows).toEqual(want.arrows);
    // O1 fuses the seed CNN's conv + bias + relu and its matmul + bias: at least those two are fused and marked.
    expect(want.fused).toEqual(['conv1', 'fc']);
    expect(got.fused).toEqual(want.fused);
    for (const g of got.nodes) {
      const node = graph.nodes.find((n) => n.name === g.getAttribute('data-node'));
      const lines = boxText(g);
      expect(lines[0]).toBe(g.getAttribute('data-node'));
      if (!node) continue;
      // Op and output shape on the box; constants as a line of their own, not as boxes.
      expect(lines[1].startsWith(node.op)).toBe(true);
      expect(lines[2].startsWith(node.output.shape.join('×'))).toBe(true);
      if (node.op === 'fused_conv2d') expect(lines).toContain('filter 3×3×1×64 · bias 64');
    }
    // The conv's cost: 28 * 28 * 64 outputs * 9 taps = 451,584 MACs, shown as 452k.
    expect(boxText(got.nodes.find((g) => g.getAttribute('data-node') === 'conv1')!)[2]).toBe('1×28×28×64 · 452k MACs');
    // The legend shows the fused style.
    expect(elements(root, 'rect', 'swatch').map((s) => s.getAttribute('data-role'))).toContain('fused');
    expect(r.out).toMatch(/wrote .*x\.svg: 4 nodes \(2 fused\) after O1/);
  });

  it('--compare: the graph before and after the level side by side, the after panel heading the passes\' rewrite count', async () => {
    const file = join(dir, 'cmp.svg');
    expect((await cli('draw', 'bottleneck', '--compare', '-o', file)).code).toBe(0);
    const root = parseSvg(readFileSync(file, 'utf8'));
    const before = EXAMPLES.bottleneck();
    const result = optimize(before, { level: 'O1' });
    const b = drawn(panel(root, 'before'));
    const a = drawn(panel(root, 'after'));
    expect(b.boxes).toEqual(expected(before).boxes);
    expect(b.fused).toEqual([]);
    expect(a.boxes).toEqual(expected(result.graph).boxes);
    expect(a.arrows).toEqual(expected(result.graph).arrows);
    expect(a.fused.length).toBeGreaterThan(0);
    expect(a.fused).toEqual(expected(result.graph).fused);
    const rewrites = result.reports.reduce((s, rep) => s + rep.rewritten, 0);
    expect(rewrites).toBeGreaterThan(0);
    const heading = elements(panel(root, 'after'), 'g', 'heading')[0];
    expect(boxText(heading).join('\n')).toContain(`${rewrites} rewrites`);
    expect(boxText(heading)[0]).toBe(`after O1: ${before.name}`);
  });

  it('--format dot: parses as DOT, names every node and every edge, fused nodes classed', async () => {
    const file = join(dir, 'g.dot');
    expect((await cli('draw', 'seed-cnn', '--level', 'O1', '-o', file)).code).toBe(0); // .dot: DOT by extension
    const viaFlag = await captureStdout(() => cli('draw', 'seed-cnn', '--level', 'O1', '--format', 'dot'));
    const text = readFileSync(file, 'utf8');
    expect(viaFlag).toBe(text);
    const { nodes, edges } = dotContents(text);
    const graph = optimize(seedCnn(), { level: 'O1' }).graph;
    const want = expected(graph);
    expect([...nodes.keys()].sort()).toEqual(want.boxes);
    expect(edges.sort()).toEqual(want.arrows);
    expect([...nodes].filter(([, cls]) => cls.split(' ').includes('fused')).map(([id]) => id).sort()).toEqual(want.fused);
  });

  it('--compare --format dot: one cluster per panel, ids prefixed by the panel so both graphs stay whole', async () => {
    const text = await captureStdout(() => cli('draw', 'seed-cnn', '--compare', '-f', 'dot'));
    const { nodes, edges } = dotContents(text);
    const before = seedCnn();
    const after = optimize(before, { level: 'O1' }).graph;
    const prefixed = (key: string, names: string[]) => names.map((n) => n.replace(/^|(?<= -> )/g, `${key}/`));
    expect([...nodes.keys()].sort()).toEqual([...prefixed('before', expected(before).boxes), ...prefixed('after', expected(after).boxes)].sort());
    expect(edges.sort()).toEqual([...prefixed('before', expected(before).arrows), ...prefixed('after', expected(after).arrows)].sort());
  });

  it('names with XML and DOT metacharacters are escaped: the picture parses and reads them back', async () => {
    const b = new GraphBuilder('a<b>&"c\'');
    const x = b.input('in<&>"\'', [1, 4, 4, 2]);
    const y = b.relu(b.conv2d(x, b.constant('w"', randomTensor([3, 3, 2, 2], 1)), { strides: [1, 1], padding: 'SAME', name: 'conv "1" <&>' }), { name: "relu'2" });
    const graph = b.build({ 'out&"': y });
    const { drawGraph } = await import('@tessera/draw');
    const svg = drawn(parseSvg(drawGraph(graph, 'svg')));
    expect(svg.boxes).toEqual(expected(graph).boxes);
    expect(svg.arrows).toEqual(expected(graph).arrows);
    const dot = dotContents(drawGraph(graph, 'dot'));
    expect([...dot.nodes.keys()].sort()).toEqual(expected(graph).boxes);
    expect(dot.edges.sort()).toEqual(expected(graph).arrows);
  });

  it('draws every example the CLI knows, and a .json graph file', async () => {
    const json = join(dir, 'seed.json');
    expect((await cli('export', 'seed-cnn', '-o', json)).code).toBe(0);
    const { drawGraph } = await import('@tessera/draw');
    for (const name of Object.keys(EXAMPLES).filter((n) => n !== 'resnet50')) {
      const graph = EXAMPLES[name]();
      expect(drawn(parseSvg(drawGraph(graph))).boxes, name).toEqual(expected(graph).boxes);
    }
    const file = join(dir, 'from-json.svg');
    expect((await cli('draw', json, '-o', file)).code).toBe(0);
    expect(drawn(parseSvg(readFileSync(file, 'utf8'))).boxes).toEqual(expected(seedCnn()).boxes);
  });

  it('lays ResNet-50 out, before and after O1 (hundreds of nodes), in a few seconds', async () => {
    const graph = EXAMPLES.resnet50();
    const result = optimize(graph, { level: 'O1' });
    const { drawComparison } = await import('@tessera/draw');
    const start = performance.now();
    const svg = drawComparison(graph, result.graph, 'O1', result.reports);
    const ms = performance.now() - start;
    // About 0.7 s on a quiet machine; generous for a loaded 2-core one.
    expect(ms).toBeLessThan(10_000);
    expect(graph.nodes.length).toBeGreaterThan(200);
    expect(drawn(panel(parseSvg(svg), 'before')).boxes).toEqual(expected(graph).boxes);
    expect(drawn(panel(parseSvg(svg), 'after')).fused).toEqual(expected(result.graph).fused);
  });

  it('bad input fails with one line naming what was wrong, before any work', async () => {
    const fmt = await cli('draw', 'seed-cnn', '--format', 'png');
    expect(fmt.code).not.toBe(0);
    expect(fmt.err).toMatch(/--format.*png/);
    const level = await cli('draw', 'seed-cnn', '--level', 'O9');
    expect(level.code).not.toBe(0);
    expect(level.err).toMatch(/--level.*O9/);
    const graph = await cli('draw', 'no-such-net');
    expect(graph.code).toBe(1);
    expect(graph.err).toMatch(/'no-such-net' is neither an example/);
    const out = await cli('draw', 'seed-cnn', '-o', join(dir, 'missing-dir', 'x.svg'));
    expect(out.code).toBe(1);
    expect(out.err).toMatch(/--output .*does not exist/);
  });
});

/** Runs `f` with process.stdout.write captured; returns what it wrote. */
async function captureStdout(f: () => Promise<{ code: number }>): Promise<string> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  try {
    expect((await f()).code).toBe(0);
  } finally {
    spy.mockRestore();
  }
  return chunks.join('');
}

/** The node ids (with their `class` attribute) and edges (`from -> to`) of a DOT text, walking the parser's syntax tree. */
function dotContents(text: string): { nodes: Map<string, string>; edges: string[] } {
  type AstNode = { type: string; id?: { value: string }; key?: { value: string }; value?: { value: string }; targets?: { id: { value: string } }[]; children?: AstNode[] };
  const nodes = new Map<string, string>();
  const edges: string[] = [];
  const walk = (n: AstNode) => {
    if (n.type === 'Node') nodes.set(n.id!.value, n.children?.find((c) => c.type === 'Attribute' && c.key?.value === 'class')?.value?.value ?? '');
    if (n.type === 'Edge') edges.push(n.targets!.map((t) => t.id.value).join(' -> '));
    n.children?.forEach(walk);
  };
  walk(parseDot(text) as unknown as AstNode);
  return { nodes, edges };
}

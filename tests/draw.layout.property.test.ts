/**
 * The layout of @tessera/draw over the conformance suite's random graphs (chains, DAGs, values
 * consumed twice, several outputs, constants): geometric facts of a readable picture, checked on
 * the coordinates the renderers use. TESSERA_SEED=<n> replays another seed.
 */
import { graphArbitrary } from '@tessera/conformance';
import { BOX_STYLES, layoutPicture, pictureOf, type PlacedNode } from '@tessera/draw';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_206;
const RUNS = 30;

/** Gap below which two boxes count as touching (dagre keeps nodesep = 18 between them). */
const EPS = 0.5;

function overlap(a: PlacedNode, b: PlacedNode): boolean {
  return a.x < b.x + b.width - EPS && b.x < a.x + a.width - EPS && a.y < b.y + b.height - EPS && b.y < a.y + a.height - EPS;
}

/** Distance from a point to a box's border region (0 on or inside the border, within a tolerance). */
function nearBox(p: { x: number; y: number }, box: PlacedNode, tolerance = 2): boolean {
  return p.x >= box.x - tolerance && p.x <= box.x + box.width + tolerance && p.y >= box.y - tolerance && p.y <= box.y + box.height + tolerance;
}

describe('draw layout', () => {
  it('property: one box per input and node, no box per constant; no two boxes overlap; every box inside the drawing and wide enough for its text', () => {
    console.log(`draw layout property seed ${SEED} (set TESSERA_SEED to replay another)`);
    fc.assert(
      fc.property(graphArbitrary({ maxOps: 16 }), ({ graph }) => {
        const layout = layoutPicture(pictureOf(graph));
        expect(layout.nodes.map((p) => p.node.id).sort()).toEqual([...graph.inputs.map((v) => v.name), ...graph.nodes.map((n) => n.name)].sort());
        for (const c of graph.constants.keys()) expect(layout.nodes.some((p) => p.node.id === c)).toBe(false);
        for (let i = 0; i < layout.nodes.length; i++) {
          const a = layout.nodes[i];
          expect(a.x).toBeGreaterThanOrEqual(0);
          expect(a.y).toBeGreaterThanOrEqual(0);
          expect(a.x + a.width).toBeLessThanOrEqual(layout.width + EPS);
          expect(a.y + a.height).toBeLessThanOrEqual(layout.height + EPS);
          // Monospace at 11 px: about 6.6 px per character.
          expect(a.width).toBeGreaterThanOrEqual(Math.max(...a.lines.map((l) => l.length)) * 6.5);
          expect(BOX_STYLES[a.node.role]).toBeDefined();
          for (let j = i + 1; j < layout.nodes.length; j++) expect(overlap(a, layout.nodes[j]), `${a.node.id} / ${layout.nodes[j].node.id}`).toBe(false);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('property: every arrow starts at its source box, ends at its target box, and the target sits below the source (data flows down)', () => {
    fc.assert(
      fc.property(graphArbitrary({ maxOps: 16 }), ({ graph }) => {
        const layout = layoutPicture(pictureOf(graph));
        const box = new Map(layout.nodes.map((p) => [p.node.id, p]));
        const deps = new Set(graph.nodes.flatMap((n) => n.inputs.filter((i) => graph.kind(i) !== 'constant').map((i) => `${i}>${n.name}`)));
        expect(new Set(layout.edges.map((e) => `${e.from}>${e.to}`))).toEqual(deps);
        for (const e of layout.edges) {
          const [from, to] = [box.get(e.from)!, box.get(e.to)!];
          expect(e.points.length).toBeGreaterThanOrEqual(2);
          expect(nearBox(e.points[0], from), `${e.from} -> ${e.to} start`).toBe(true);
          expect(nearBox(e.points[e.points.length - 1], to), `${e.from} -> ${e.to} end`).toBe(true);
          expect(to.y).toBeGreaterThan(from.y + from.height - EPS);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

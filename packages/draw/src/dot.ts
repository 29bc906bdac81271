import { textOf } from './layout.js';
import type { Panel } from './panels.js';
import { BOX_STYLES, COLORS, FONT, OUTPUT_MARK } from './style.js';

/*
 * Graphviz DOT: the same boxes and styles as the SVG, for `dot -Tpng` or any DOT viewer. With
 * several panels, each is a cluster and node ids are prefixed by the panel's key (`after/conv1`)
 * so that the same node name in two panels stays two nodes.
 */

/** A DOT double-quoted string (backslashes and quotes escaped, newlines as \n). */
export function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

export function renderDot(panels: readonly Panel[]): string {
  const single = panels.length === 1;
  const lines = [
    `digraph ${dotString([...new Set(panels.map((p) => p.picture.name))].join(' vs '))} {`,
    '  rankdir=TB;',
    `  node [shape=box, style="rounded,filled", fontname=${dotString('monospace')}, fontsize=${FONT.size}, color=${dotString(BOX_STYLES.op.stroke)}];`,
    `  edge [color=${dotString(COLORS.edge)}];`,
  ];
  for (const panel of panels) {
    const id = (name: string) => dotString(single ? name : `${panel.key}/${name}`);
    const indent = single ? '  ' : '    ';
    if (!single) lines.push(`  subgraph ${dotString(`cluster_${panel.key}`)} {`, `    label=${dotString(panel.heading.join('\n'))};`, '    labeljust=l;');
    for (const node of panel.picture.nodes) {
      const s = BOX_STYLES[node.role];
      const output = node.outputs.length > 0;
      const attrs = [
        `label=${dotString(textOf(node).join('\n'))}`,
        `fillcolor=${dotString(s.fill)}`,
        `color=${dotString(output ? OUTPUT_MARK.color : s.stroke)}`,
        `penwidth=${output ? Math.max(s.strokeWidth, 2) : s.strokeWidth}`,
        `class=${dotString([node.role, ...(output ? ['output'] : [])].join(' '))}`,
        ...(s.dash ? ['style="rounded,filled,dashed"'] : []),
        ...(node.role === 'input' ? ['shape=ellipse', 'style=filled'] : []),
      ];
      lines.push(`${indent}${id(node.id)} [${attrs.join(', ')}];`);
    }
    for (const e of panel.picture.edges) lines.push(`${indent}${id(e.from)} -> ${id(e.to)};`);
    if (!single) lines.push('  }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

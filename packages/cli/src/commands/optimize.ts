import { saveGraph } from '@tessera/core/node';
import { optimize, type FactorizeOptions, type PassReport } from '@tessera/passes';
import { Option, type Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';
import { checkOutputPath, intFlag } from '../flags.js';
import { cliTable, count } from '../tables.js';
import { LEVELS, summaryJson, summaryText } from './summary.js';

interface OptimizeOptions {
  level: string;
  factorize?: string;
  output?: string;
  verify?: boolean;
  summary?: boolean;
  json?: boolean;
}

export function optimizeCommand(program: Command): void {
  program
    .command('optimize')
    .description('run an optimization pipeline on a graph and report what each pass did')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .addOption(new Option('-l, --level <level>', 'O0: nothing; O1: exact cleanups and fusions; O2: O1 + 1x1 conv -> matmul and conv composition').choices(LEVELS).default('O1'))
    .option('--factorize <spec>', 'LOSSY, opt-in: Tucker-2 factorization of KxK convs, by kept energy (energy=0.95) or ranks (ranks=r1,r2)')
    .option('-o, --output <file.json>', 'write the optimized graph')
    .option('--verify', 'run the graph before and after every pass on random inputs through the reference and compare')
    .option('--summary', 'print the summary of the graph before and after')
    .option('--json', 'print the reports (and with --summary the summaries) as JSON (packages/cli/README.md)')
    .action(async (name: string, opts: OptimizeOptions) => {
      const factorize = parseFactorize(opts.factorize);
      if (opts.output) await checkOutputPath('--output', opts.output);
      const graph = await resolveGraph(name);
      const result = optimize(graph, { level: opts.level, factorize, verify: opts.verify });
      const failed = result.verification && !result.verification.ok ? result.verification.firstMismatch?.pass ?? '?' : undefined;
      if (opts.output) await saveGraph(opts.output, result.graph);
      if (opts.json) {
        const summaries = opts.summary ? { before: summaryJson(graph), after: summaryJson(result.graph) } : {};
        console.log(JSON.stringify({ graph: graph.name, level: opts.level, passes: result.reports.map(reportJson), ...summaries, verified: result.verification ? !failed : null, output: opts.output ?? null }, null, 2));
      } else {
        if (opts.summary) console.log(`before:\n${summaryText(graph)}\n`);
        console.log(reportText(result.reports));
        if (opts.summary) console.log(`\nafter:\n${summaryText(result.graph)}`);
        if (opts.output) console.log(`wrote ${opts.output}`);
      }
      if (failed !== undefined) {
        console.error(`verification failed: pass '${failed}' changed the results`);
        process.exitCode = 1;
      }
    });
}

/** One pass's report as JSON (documented in packages/cli/README.md); `details` is pass-specific. */
function reportJson(r: PassReport) {
  const v = r.verification;
  return {
    pass: r.pass, exact: r.exact, matched: r.matched, rewritten: r.rewritten, nodes: r.nodes, params: r.params, macs: r.macs,
    ms: r.timeMs ?? null, verified: v ? (v.compared ? v.ok : null) : null, changes: r.changes, skipped: r.skipped, notes: r.notes,
  };
}

/** Lines of detail per pass shown under the table (the rest is counted). */
const MAX_DETAIL_LINES = 20;

/** The passes' table (one row per pass), the totals, then each pass's notes, changes and skipped matches. */
function reportText(reports: readonly PassReport[]): string {
  const arrow = (x: { before: number; after: number }) => (x.before === x.after ? count(x.before) : `${count(x.before)} -> ${count(x.after)}`);
  const verified = (r: PassReport) => (!r.verification ? '' : !r.verification.compared ? 'n/a' : r.verification.ok ? 'ok' : 'FAILED');
  const table = cliTable(['pass', 'kind', 'matched', 'rewritten', 'nodes', 'params', 'MACs', 'ms', 'verified'], [2, 3, 4, 5, 6, 7]);
  for (const r of reports) table.push([r.pass, r.exact ? 'exact' : 'LOSSY', r.matched, r.rewritten, arrow(r.nodes), arrow(r.params), arrow(r.macs), r.timeMs?.toFixed(1) ?? '', verified(r)]);
  const out = [table.toString()];
  if (reports.length > 0) {
    const [first, last] = [reports[0], reports[reports.length - 1]];
    const macs = { before: first.macs.before, after: last.macs.after };
    const pct = macs.before === 0 || macs.before === macs.after ? '' : ` (${(((macs.after - macs.before) / macs.before) * 100).toFixed(1)}%)`;
    out.push(`total: nodes ${arrow({ before: first.nodes.before, after: last.nodes.after })}, params ${arrow({ before: first.params.before, after: last.params.after })}, MACs ${arrow(macs)}${pct}`);
  }
  for (const r of reports) {
    const lines = [...r.notes.map((n) => `note: ${n}`), ...r.changes.map((c) => `- ${c}`), ...r.skipped.map((s) => `  (skipped) ${s}`)];
    const m = r.verification?.mismatch;
    if (m) lines.push(`VERIFY FAILED: output '${m.output}'[${m.index}] was ${m.before}, now ${m.after} (bound ${m.bound.toExponential(3)})`);
    if (lines.length === 0) continue;
    out.push('', `${r.pass}:`, ...lines.slice(0, MAX_DETAIL_LINES).map((l) => `  ${l}`));
    if (lines.length > MAX_DETAIL_LINES) out.push(`  ... and ${lines.length - MAX_DETAIL_LINES} more`);
  }
  return out.join('\n');
}

export function parseFactorize(spec: string | undefined): FactorizeOptions | undefined {
  if (spec === undefined) return undefined;
  const eq = spec.indexOf('=');
  const [key, value] = eq < 0 ? [spec, ''] : [spec.slice(0, eq), spec.slice(eq + 1)];
  // Plain decimals only: Number() would also take '0x1', '1e-1' or ' '.
  if (key === 'energy' && /^(0?\.\d+|1(\.0*)?)$/.test(value) && Number(value) > 0) return { energy: Number(value) };
  const ranks = value.split(',');
  if (key === 'ranks' && ranks.length === 2) {
    const [r1, r2] = ranks.map((r) => intFlag('--factorize ranks', r, { min: 1, max: MAX_RANK }));
    return { ranks: [r1, r2] };
  }
  throw new Error(`--factorize: expected energy=<a number in (0, 1]> or ranks=<r1>,<r2>, got '${spec}'`);
}

/** Ranks beyond any conv's channel count are pointless; this only keeps the number sane. */
const MAX_RANK = 1 << 16;

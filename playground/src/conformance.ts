import { AgreementCollector, GRAPHS_PROPERTY, runConformance, type AgreementCell, type ConformanceReport } from '@tessera/conformance';
import { yieldToPage } from './page-yield.js';
import { createContainer, defaultContainer, getBackend, registerBackend, type Backend } from '@tessera/runtime';

export interface SuiteOptions {
  readonly backends: readonly string[];
  readonly runs: number;
  readonly graphs: number;
  readonly seed: number;
}

export interface SuiteProgress {
  /** 0..1 over every backend's properties. */
  readonly fraction: number;
  readonly backend: string;
  readonly property: string;
  readonly failures: number;
}

export interface SuiteResult {
  readonly reports: readonly ConformanceReport[];
  readonly agreement: readonly AgreementCell[];
}

/**
 * The page's backends (those of the default container, shared with the Run panel) as seen by the
 * suite: each compile first yields to the page. The suite's cases otherwise chain on microtasks
 * only, and the page would not paint its progress until the end.
 */
function yieldingContainer(names: readonly string[]): ReturnType<typeof createContainer> {
  const container = createContainer();
  for (const name of names) {
    registerBackend(container, name, (): Backend => {
      const backend = getBackend(defaultContainer, name);
      return {
        name,
        hasKernel: (op) => backend.hasKernel(op),
        ...(backend.plan ? { plan: (graph, options) => backend.plan!(graph, options) } : {}),
        compile: async (graph, plan) => {
          await yieldToPage();
          return backend.compile(graph, plan);
        },
        // The backend belongs to the default container, which keeps it for the Run panel.
        dispose: async () => {},
      };
    });
  }
  return container;
}

/**
 * The conformance suite on each backend in turn, with the same seed (so the same cases, and the
 * agreement matrix between backends), reporting progress from the runner's events: properties
 * done, and within a property its cases started out of the count it draws.
 */
export async function runSuite(options: SuiteOptions, progress: (p: SuiteProgress) => void): Promise<SuiteResult> {
  const collector = new AgreementCollector();
  const container = yieldingContainer(options.backends);
  const reports: ConformanceReport[] = [];
  let failures = 0;
  for (const [b, backend] of options.backends.entries()) {
    const report = await new Promise<ConformanceReport>((resolve, reject) => {
      let properties = 1;
      let done = 0;
      let last: ConformanceReport | undefined;
      const report = (property: string, within: number) =>
        progress({ fraction: (b + Math.min(done + within, properties) / properties) / options.backends.length, backend, property, failures });
      runConformance({ backend, container, seed: options.seed, runs: options.runs, graphs: options.graphs, onCase: collector.onCase(backend) }).subscribe({
        next: (e) => {
          if (e.type === 'start') properties = Math.max(1, e.properties.length);
          else if (e.type === 'case-start') report(e.property, Math.min(0.99, (e.index + 1) / Math.max(1, e.property === GRAPHS_PROPERTY ? options.graphs : options.runs)));
          else if (e.type === 'case-fail') failures++;
          else if (e.type === 'property-done') {
            done++;
            report(e.property, 0);
          } else if (e.type === 'done') last = e.report;
        },
        error: reject,
        complete: () => (last ? resolve(last) : reject(new Error(`the conformance run of '${backend}' ended without a report`))),
      });
    });
    reports.push(report);
  }
  return { reports, agreement: collector.matrix() };
}

// A user's page, bundled by vite from the installed packages: the seed CNN on cpu, workers and
// webgl, each compared with the float64 reference. The result goes to window.tesseraResult.
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import '@tessera/backend-webgl';
import { compareToReference, evaluate, randomTensor } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createSession, disposeBackends } from '@tessera/runtime';

async function main() {
  const graph = seedCnn();
  const feeds = { x: randomTensor([1, 28, 28, 1], 11).data };
  const ref = evaluate(graph, feeds);
  const results = {};
  for (const backend of ['cpu', 'workers', 'webgl']) {
    const session = await createSession(graph, { backend });
    try {
      const out = await session.run(feeds);
      const c = compareToReference(out.logits, ref.logits);
      results[backend] = { ok: c.ok, worstRatio: c.worstRatio, head: Array.from(out.logits.slice(0, 3)) };
    } finally {
      session.dispose();
    }
  }
  await disposeBackends();
  return results;
}

main().then(
  (results) => {
    window.tesseraResult = { results };
    document.title = 'done';
  },
  (e) => {
    window.tesseraResult = { error: String(e && e.stack || e) };
    document.title = 'done';
  },
);

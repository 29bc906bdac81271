/**
 * The conformance suite on the `cpu` backend: every op under test, random graphs, non-finite and
 * extreme values, each a fast-check property against the float64 reference and its derived
 * per-element bounds. Fixed seed; TESSERA_SEED=<n> replays another. A failure throws the shrunk
 * case (graph, feeds, seed and path) and writes it under conformance-failures/ for --replay.
 */
import '@tessera/backend-cpu';
import { describeConformance } from '@tessera/conformance/vitest';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_240_611;
if (!Number.isInteger(SEED)) throw new Error(`TESSERA_SEED must be an integer, got '${process.env.TESSERA_SEED}'`);
console.log(`conformance seed ${SEED} (set TESSERA_SEED to replay another); backend 'cpu'`);

describeConformance('cpu', { seed: SEED, runs: 200, graphs: 300, reproDir: 'conformance-failures' });

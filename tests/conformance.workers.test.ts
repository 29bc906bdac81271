/**
 * The conformance suite on the `workers` backend with 2 threads (3 threads: conformance.workers.heavy.ts) (Node worker threads): every op under test,
 * random graphs (also through bound inputs and outputs), non-finite and extreme values, against
 * the float64 reference and its derived per-element bounds. The pool is
 * registered with eager partitioning (every step worth a few dozen multiply-adds is split over
 * the workers), so the suite's small cases exercise the split kernels and the shared memory, not
 * the main-thread fallback that small graphs get by default. TESSERA_SEED=<n> replays another seed.
 */
import { describeWorkersConformance } from './helpers/workers-conformance.js';

describeWorkersConformance(2);

/** The workers conformance suite on 3 threads (`pnpm test:heavy`; 2 threads run in `pnpm test`). */
import { describeWorkersConformance } from './helpers/workers-conformance.js';

describeWorkersConformance(3);

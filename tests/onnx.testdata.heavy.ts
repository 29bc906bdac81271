// pnpm test:heavy: the large cases of ONNX's backend test data on every backend, and the quick
// cases on webgl (headless Chromium, about a minute): packages/onnx/test/testdata-suite.ts.
import { testdataSuite } from '../packages/onnx/test/testdata-suite.js';

testdataSuite({ heavy: true, backends: ['cpu', 'workers', 'webgl'] });
testdataSuite({ heavy: false, backends: ['webgl'] });

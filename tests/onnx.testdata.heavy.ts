// The large cases of ONNX's backend test data (pnpm test:heavy): packages/onnx/test/testdata-suite.ts.
import { testdataSuite } from '../packages/onnx/test/testdata-suite.js';

testdataSuite({ heavy: true });

// ONNX's backend test data through importOnnx, the reference and the backends (packages/onnx/test/testdata-suite.ts).
import { testdataSuite } from '../packages/onnx/test/testdata-suite.js';

testdataSuite({ heavy: false });

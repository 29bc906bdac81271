// ONNX's backend test data through importOnnx, the reference, cpu and workers (packages/onnx/test/testdata-suite.ts).
import { testdataSuite } from '../packages/onnx/test/testdata-suite.js';

testdataSuite({ heavy: false, backends: ['cpu', 'workers'] });

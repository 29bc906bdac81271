/**
 * The conformance suite on ONNX Runtime (`ort`, onnxruntime-node, native): an industrial engine
 * checked against Tessera's float64 reference through ONNX export, like every backend. Smaller
 * counts than cpu here (each case is an export and an InferenceSession); the CLI runs the default
 * counts (`pnpm tessera conformance --backends ort`). Fixed seed; TESSERA_SEED=<n> replays another.
 */
import '@tessera/backend-ort';
import { describeConformance } from '@tessera/conformance/vitest';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_206;
if (!Number.isInteger(SEED)) throw new Error(`TESSERA_SEED must be an integer, got '${process.env.TESSERA_SEED}'`);
console.log(`conformance seed ${SEED} (set TESSERA_SEED to replay another); backend 'ort'`);

describeConformance('ort', { seed: SEED, runs: 15, graphs: 15, reproDir: 'conformance-failures' });

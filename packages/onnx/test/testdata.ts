import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { decodeTensor, readTensor, type OnnxTensor } from '../src/index.js';

/** One case of ONNX's backend test data: a model and its test data sets (inputs, expected outputs). */
export interface OnnxCase {
  readonly suite: string;
  readonly name: string;
  readonly model: Uint8Array;
  /** The test data sets, read on demand (a tensor of a type Tessera does not read throws then). */
  sets(): { inputs: OnnxTensor[]; outputs: OnnxTensor[] }[];
}

function readTensors(dir: string, prefix: 'input' | 'output'): OnnxTensor[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(`${prefix}_`) && f.endsWith('.pb'))
    .sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)))
    .map((f) => readTensor(decodeTensor(readFileSync(join(dir, f))), f));
}

/** Every case of `suite` (pytorch-converted, pytorch-operator, simple) under the fetched data folder. */
export function onnxCases(dataDir: string, suite: string): OnnxCase[] {
  const dir = join(dataDir, 'onnx', 'backend', 'test', 'data', suite);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .filter((name) => existsSync(join(dir, name, 'model.onnx')))
    .map((name) => {
      const caseDir = join(dir, name);
      const sets = () =>
        readdirSync(caseDir)
          .filter((d) => d.startsWith('test_data_set_'))
          .sort()
          .map((d) => ({ inputs: readTensors(join(caseDir, d), 'input'), outputs: readTensors(join(caseDir, d), 'output') }));
      return { suite, name, model: readFileSync(join(caseDir, 'model.onnx')), sets };
    });
}

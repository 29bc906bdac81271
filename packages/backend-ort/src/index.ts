/**
 * @tessera/backend-ort: ONNX Runtime as Tessera backends, registered on import —
 *   'ort'       onnxruntime-node (native; Node only),
 *   'ort-web'   onnxruntime-web (WebAssembly; Node or a browser), one thread unless
 *               TESSERA_ORT_WEB_THREADS says otherwise (the package reads its thread count once,
 *               at its first session, for the whole process).
 * The runtime packages are optional peer dependencies, loaded when a backend is first used.
 */
import { defaultContainer, registerBackend } from '@tessera/runtime';
import { OrtBackend, type OrtRuntime } from './backend.js';

export { OrtBackend, type OrtBackendOptions, type OrtRuntime } from './backend.js';

/**
 * The import of each package: onnxruntime-web's written out, so that a bundler (vite, webpack,
 * esbuild) bundles it into a web app; onnxruntime-node's left to Node (no bundler resolves a
 * native addon for a page).
 */
const IMPORTS = {
  'onnxruntime-node': (pkg: string) => import(/* @vite-ignore */ pkg),
  'onnxruntime-web': () => import('onnxruntime-web'),
} as const;

/** Loads an ONNX Runtime package (its CommonJS default export, or the module itself). */
export const loadOrt = (pkg: 'onnxruntime-node' | 'onnxruntime-web') => async (): Promise<OrtRuntime> => {
  try {
    const m = (await IMPORTS[pkg](pkg)) as { default?: unknown };
    return (m.default ?? m) as OrtRuntime;
  } catch (e) {
    throw new Error(`backend needs the package '${pkg}' (npm i ${pkg}): ${e instanceof Error ? e.message : String(e)}`);
  }
};

/** onnxruntime-web's WebAssembly thread count is global to the package: set before its first session. */
const web = async (): Promise<OrtRuntime> => {
  const ort = (await loadOrt('onnxruntime-web')()) as OrtRuntime & { env: { wasm: { numThreads: number } } };
  const threads = Number((typeof process === 'object' && process.env?.TESSERA_ORT_WEB_THREADS) || 1);
  ort.env.wasm.numThreads = Number.isInteger(threads) && threads > 0 ? threads : 1;
  return ort;
};

registerBackend(defaultContainer, 'ort', () => new OrtBackend('ort', loadOrt('onnxruntime-node')), 'ONNX Runtime native (onnxruntime-node), compiled by ONNX export');
registerBackend(defaultContainer, 'ort-web', () => new OrtBackend('ort-web', web), 'ONNX Runtime WebAssembly (onnxruntime-web), compiled by ONNX export');

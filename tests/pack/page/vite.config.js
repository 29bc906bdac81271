// The page's vite config, as a user would write it: module workers (the workers backend's
// workers import modules), and the headers SharedArrayBuffer needs on the preview server.
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
export default {
  worker: { format: 'es' },
  build: { target: 'es2022' },
  preview: { headers: isolation },
  logLevel: 'warn',
};

// Starts a pool worker from TypeScript sources (tests, `tsx`): Node 20 cannot run a .ts file as
// a worker, so this registers tsx with the package's tsconfig and imports the real entry.
// The pool starts it with `--conditions=@tessera/source` so workspace packages resolve to src.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('./worker.ts');

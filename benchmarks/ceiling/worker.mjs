// The second thread of the kernel ceiling (ceiling.ts), started from TypeScript sources:
// Node 20 cannot run a .ts worker, so this registers tsx and imports the real entry.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./thread.ts');

/**
 * The page the Node-side browser runner drives: it compiles graphs it is sent on a backend of
 * this page (webgl, cpu, workers) and runs them. Tensors cross the boundary as base64 float32.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import '@tessera/backend-webgl';
import { graphFromJson } from '@tessera/core';
import { backendNames, createSession, type Session } from '@tessera/runtime';
import { fromBase64, toBase64 } from '../src/base64.js';

const sessions = new Map<number, Session>();
let nextId = 1;

const api = {
  backends: () => backendNames(),
  async compile(graphJson: unknown, backend: string): Promise<number> {
    const session = await createSession(graphFromJson(graphJson), { backend });
    const id = nextId++;
    sessions.set(id, session);
    return id;
  },
  async run(id: number, feeds: Record<string, string>): Promise<Record<string, string>> {
    const session = sessions.get(id);
    if (!session) throw new Error(`no compiled graph ${id} in the page (disposed?)`);
    const decoded = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, fromBase64(v)]));
    const outputs = await session.run(decoded);
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, toBase64(v)]));
  },
  dispose(id: number): void {
    sessions.get(id)?.dispose();
    sessions.delete(id);
  },
};

(globalThis as { tessera?: typeof api }).tessera = api;
document.title = 'ready';

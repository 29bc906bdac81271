import 'reflect-metadata';
import { Container, type BindingIdentifier } from 'inversify';
import type { Backend } from './backend.js';

/** Service identifiers of the container. */
export const TOKENS = {
  /** Backends, each bound under its name (`whenNamed`), one instance per container. */
  Backend: Symbol.for('tessera.Backend'),
  /** The names of the bound backends, with a line of description each. */
  BackendInfo: Symbol.for('tessera.BackendInfo'),
} as const;

export interface BackendInfo {
  readonly name: string;
  readonly description: string;
}

export type BackendFactory = () => Backend;

interface Registration {
  readonly ids: BindingIdentifier[];
  readonly factory: BackendFactory;
  readonly description: string;
  instance?: Backend;
}

const registrations = new WeakMap<Container, Map<string, Registration>>();
/** Backends whose name was bound again while sessions may still use them: disposed with the rest. */
const retired = new WeakMap<Container, Backend[]>();

export function createContainer(): Container {
  return new Container();
}

/**
 * The container that `createSession` uses unless given another. Tessera's backend packages
 * register themselves here when imported; a user's backend is registered the same way.
 */
export const defaultContainer: Container = createContainer();

/**
 * Binds a backend under a name. The factory runs once per container, on first use, so every
 * session of the container shares the backend (and its worker pool or GL context).
 * Registering a name again replaces the earlier binding: rebinding is how a backend is swapped.
 */
export function registerBackend(container: Container, name: string, factory: BackendFactory, description = ''): void {
  if (!registrations.has(container)) registrations.set(container, new Map());
  const regs = registrations.get(container)!;
  const earlier = regs.get(name);
  for (const id of earlier?.ids ?? []) container.unbind(id);
  if (earlier?.instance) retired.set(container, [...(retired.get(container) ?? []), earlier.instance]);
  const reg: Registration = { ids: [], factory, description };
  reg.ids.push(
    container
      .bind<Backend>(TOKENS.Backend)
      .toDynamicValue(() => (reg.instance = factory()))
      .inSingletonScope()
      .whenNamed(name)
      .getIdentifier(),
    container.bind<BackendInfo>(TOKENS.BackendInfo).toConstantValue({ name, description }).getIdentifier(),
  );
  regs.set(name, reg);
}

export function backendNames(container: Container = defaultContainer): string[] {
  return container.isBound(TOKENS.BackendInfo) ? container.getAll<BackendInfo>(TOKENS.BackendInfo).map((b) => b.name) : [];
}

export function getBackend(container: Container, name: string): Backend {
  if (!container.isBound(TOKENS.Backend, { name })) {
    const known = backendNames(container);
    throw new Error(
      `no backend named '${name}' is registered (registered: ${known.length ? known.join(', ') : 'none'}; import its package, e.g. '@tessera/backend-${name}', or call registerBackend)`,
    );
  }
  return container.get<Backend>(TOKENS.Backend, { name });
}

/**
 * Disposes every backend the container has created (terminates worker pools, loses GL contexts).
 * The names stay registered: the next session creates a fresh backend.
 */
export async function disposeBackends(container: Container = defaultContainer): Promise<void> {
  const regs = registrations.get(container) ?? new Map<string, Registration>();
  const created = [...regs.entries()].filter(([, r]) => r.instance);
  const instances = [...created.map(([, r]) => r.instance!), ...(retired.get(container) ?? [])];
  for (const [name, r] of created) {
    r.instance = undefined;
    registerBackend(container, name, r.factory, r.description);
  }
  retired.delete(container);
  await Promise.all(instances.map((b) => b.dispose()));
}

import { backendNames, getBackend, registerBackend, type Backend, type SessionOptions } from '@tessera/runtime';

/*
 * Modes of a backend the suite must check besides its default one. A backend that runs small
 * graphs on the calling thread (workers) never splits a step on the suite's small cases, so its
 * split ranges, chains and tiles would go unchecked: it declares a variant with splitting forced.
 */

type Container = NonNullable<SessionOptions['container']>;

/** One more mode of a backend: checked as a backend of its own, named `<backend>-<suffix>`. */
export interface BackendVariant {
  /** e.g. 'split': the variant is registered as `<backend>-split`. */
  readonly suffix: string;
  readonly description: string;
  /** A fresh backend instance in that mode (its name should be `<backend>-<suffix>`). */
  create(name: string): Backend;
}

/**
 * The optional hook: a backend that implements `conformanceVariants` is checked in each of them
 * too (by `withVariants`, which the CLI and the mutation test use).
 */
export interface BackendWithVariants extends Backend {
  conformanceVariants(): readonly BackendVariant[];
}

const hasVariants = (b: Backend): b is BackendWithVariants => typeof (b as Partial<BackendWithVariants>).conformanceVariants === 'function';

/** The name a variant is registered and reported under. */
export const variantName = (backend: string, v: Pick<BackendVariant, 'suffix'>): string => `${backend}-${v.suffix}`;

/**
 * The backends to check for `names`: each name followed by its variants, which are registered
 * in `container` (those the backend declares, and those `extra` supplies by backend name for
 * backends that cannot declare them themselves). Variants already registered are kept.
 */
export function withVariants(names: readonly string[], container: Container, extra: Readonly<Record<string, readonly BackendVariant[]>> = {}): string[] {
  const out: string[] = [];
  for (const name of names) {
    out.push(name);
    const declared = hasVariants(getBackend(container, name)) ? (getBackend(container, name) as BackendWithVariants).conformanceVariants() : [];
    for (const v of [...declared, ...(extra[name] ?? [])]) {
      const vname = variantName(name, v);
      if (out.includes(vname)) continue;
      if (!backendNames(container).includes(vname)) registerBackend(container, vname, () => v.create(vname), `${name}: ${v.description}`);
      out.push(vname);
    }
  }
  return out;
}

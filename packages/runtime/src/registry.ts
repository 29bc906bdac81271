/**
 * Kernels by backend and op. Each backend registers the kernels it has; the kernel's type is the
 * backend's own business (a function on arena offsets for cpu, a shader program factory for webgl).
 */
export class KernelRegistry {
  private readonly kernels = new Map<string, Map<string, unknown>>();

  register<K>(backend: string, op: string, kernel: K): void {
    let ops = this.kernels.get(backend);
    if (!ops) this.kernels.set(backend, (ops = new Map()));
    ops.set(op, kernel);
  }

  get<K>(backend: string, op: string): K | undefined {
    return this.kernels.get(backend)?.get(op) as K | undefined;
  }

  has(backend: string, op: string): boolean {
    return this.kernels.get(backend)?.has(op) ?? false;
  }

  ops(backend: string): string[] {
    return [...(this.kernels.get(backend)?.keys() ?? [])];
  }
}

/** The registry Tessera's backends register into when imported. */
export const kernelRegistry = new KernelRegistry();

/** Every error Tessera raises on purpose. `node` and `op` say where in the graph it happened. */
export class TesseraError extends Error {
  readonly node?: string;
  readonly op?: string;
  constructor(message: string, where: { node?: string; op?: string } = {}) {
    const prefix = where.node !== undefined ? `node '${where.node}'${where.op ? ` (${where.op})` : ''}: ` : '';
    super(prefix + message);
    this.name = 'TesseraError';
    this.node = where.node;
    this.op = where.op;
  }
}

/** Thrown by op specs for a bad operand or attribute; the caller adds node and op. */
export class OpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpError';
  }
}

/** Runs `fn`, re-throwing an OpError as a TesseraError that names the node and the op. */
export function atNode<T>(node: string, op: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof OpError) throw new TesseraError(e.message, { node, op });
    throw e;
  }
}

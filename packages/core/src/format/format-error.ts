import { TesseraError } from '../errors.js';

/**
 * A problem in a graph file or an array file. `path` says where (a JSON path such as
 * `nodes[2].attrs.strides[0]`, or `npy header`); the message is `<where>: <what is wrong>`.
 */
export class FormatError extends TesseraError {
  /** Where in the document, e.g. `nodes[2].attrs.strides[0]` ('' for the document as a whole). */
  readonly path: string;
  /** What is wrong there. */
  readonly problem: string;
  /** The file, when the error came through a file helper. */
  readonly file?: string;
  constructor(path: string, problem: string, file?: string) {
    super(`${file !== undefined ? `${file}: ` : ''}${path ? `${path}: ` : ''}${problem}`);
    this.name = 'FormatError';
    this.path = path;
    this.problem = problem;
    this.file = file;
  }
}

/** A JSON path segment list rendered as `a.b[2]["odd key"]`. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else {
      const key = String(s);
      out += /^[A-Za-z_$][\w$]*$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** A short, cheap preview of a JSON value for an error message (never serializes a large value). */
export function preview(value: unknown, max = 40): string {
  if (typeof value === 'string') {
    const s = JSON.stringify(value.length > max ? value.slice(0, max) : value);
    return value.length > max ? `${s.slice(0, -1)}…"` : s;
  }
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

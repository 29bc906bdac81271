import { DataType, type TensorProto } from './proto/proto.js';

/** A TensorProto's contents: its shape and its numbers, floats (float32-exact) or integers. */
export interface OnnxTensor {
  readonly shape: readonly number[];
  /** 'float' for float32 / float64 data, 'int' for integer and boolean data (shapes, indices, axes). */
  readonly kind: 'float' | 'int';
  readonly data: Float32Array | Float64Array;
}

const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  [DataType.FLOAT]: 4,
  [DataType.DOUBLE]: 8,
  [DataType.INT64]: 8,
  [DataType.INT32]: 4,
  [DataType.INT8]: 1,
  [DataType.UINT8]: 1,
  [DataType.BOOL]: 1,
};
const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  ...Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k])),
  8: 'STRING',
  10: 'FLOAT16',
  16: 'BFLOAT16',
};

export function dataTypeName(t: number | undefined): string {
  return DATA_TYPE_NAMES[t ?? 0] ?? `data type ${t ?? 0}`;
}

/** Reads one element of raw (little-endian) data. */
function rawReader(type: number, view: DataView): (i: number) => number {
  switch (type) {
    case DataType.FLOAT:
      return (i) => view.getFloat32(4 * i, true);
    case DataType.DOUBLE:
      return (i) => view.getFloat64(8 * i, true);
    case DataType.INT64:
      return (i) => Number(view.getBigInt64(8 * i, true));
    case DataType.INT32:
      return (i) => view.getInt32(4 * i, true);
    case DataType.INT8:
      return (i) => view.getInt8(i);
    default:
      return (i) => view.getUint8(i);
  }
}

/** The numbers of a TensorProto; float64 data is rounded to float32 (Tessera computes in float32). */
export function readTensor(t: TensorProto, what: string): OnnxTensor {
  const type = t.data_type ?? 0;
  const bytes = ELEMENT_BYTES[type];
  if (bytes === undefined) throw new Error(`${what}: ${dataTypeName(type)} tensors are not supported (float, double, int64, int32, int8, uint8, bool are)`);
  if (t.data_location === 1 || (t.external_data?.length ?? 0) > 0) throw new Error(`${what}: external tensor data is not supported (save the model with its weights inside)`);
  const shape = (t.dims ?? []).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const kind = type === DataType.FLOAT || type === DataType.DOUBLE ? 'float' : 'int';
  const data = kind === 'float' ? new Float32Array(n) : new Float64Array(n);
  if (t.raw_data && t.raw_data.length > 0) {
    if (t.raw_data.length !== n * bytes) throw new Error(`${what}: raw_data has ${t.raw_data.length} bytes, shape [${shape}] needs ${n * bytes}`);
    const read = rawReader(type, new DataView(t.raw_data.buffer, t.raw_data.byteOffset, t.raw_data.length));
    for (let i = 0; i < n; i++) data[i] = read(i);
  } else {
    const typed = t.float_data ?? t.double_data ?? t.int64_data ?? t.int32_data ?? t.uint64_data ?? [];
    if (typed.length !== n) throw new Error(`${what}: holds ${typed.length} values, shape [${shape}] needs ${n}`);
    for (let i = 0; i < n; i++) data[i] = Number(typed[i]);
  }
  return { shape, kind, data };
}

/** A float32 TensorProto (raw little-endian data). */
export function floatTensorProto(name: string, shape: readonly number[], data: ArrayLike<number>): TensorProto {
  const f = Float32Array.from(data);
  return { name, dims: [...shape], data_type: DataType.FLOAT, raw_data: new Uint8Array(f.buffer, f.byteOffset, f.byteLength) };
}

/** An int64 TensorProto (shapes, axes, pads). */
export function int64TensorProto(name: string, shape: readonly number[], data: readonly number[]): TensorProto {
  return { name, dims: [...shape], data_type: DataType.INT64, int64_data: [...data] };
}

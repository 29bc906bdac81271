import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-proto.js';

/*
 * ONNX messages through protobufjs and ONNX's own schema (no hand-written decoder). The
 * interfaces below name the fields Tessera reads and writes, as protobufjs' `toObject` gives
 * them (field names as in onnx.proto, int64 as numbers, bytes as Uint8Array, absent fields
 * absent).
 */

export interface TensorShapeDim {
  dim_value?: number;
  dim_param?: string;
}
export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: { dim?: TensorShapeDim[] } };
}
export interface ValueInfoProto {
  name?: string;
  type?: TypeProto;
}
export interface TensorProto {
  dims?: number[];
  data_type?: number;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  double_data?: number[];
  uint64_data?: number[];
  raw_data?: Uint8Array;
  name?: string;
  data_location?: number;
  external_data?: unknown[];
}
export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
  ref_attr_name?: string;
}
export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
}
export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}
export interface OperatorSetIdProto {
  domain?: string;
  version?: number;
}
export interface ModelProto {
  ir_version?: number;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  graph?: GraphProto;
  functions?: unknown[];
}

/** TensorProto.DataType values Tessera reads (onnx.proto). */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
/** AttributeProto.AttributeType values. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

let root: protobuf.Root | undefined;
function onnxRoot(): protobuf.Root {
  root ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false, arrays: false };

function messageType(name: string): protobuf.Type {
  return onnxRoot().lookupType(`onnx.${name}`);
}

/** Decodes an ONNX model file; a malformed file throws protobufjs' error, prefixed. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  const type = messageType('ModelProto');
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  return type.toObject(message, TO_OBJECT) as ModelProto;
}

/** Decodes one TensorProto file (the test data's input_*.pb / output_*.pb). */
export function decodeTensor(bytes: Uint8Array): TensorProto {
  const type = messageType('TensorProto');
  return type.toObject(type.decode(bytes), TO_OBJECT) as TensorProto;
}

export function encodeModel(model: ModelProto): Uint8Array {
  const type = messageType('ModelProto');
  const err = type.verify(model);
  if (err) throw new Error(`exportOnnx built an invalid ModelProto: ${err}`);
  return type.encode(type.fromObject(model)).finish();
}

export function encodeTensor(tensor: TensorProto): Uint8Array {
  const type = messageType('TensorProto');
  return type.encode(type.fromObject(tensor)).finish();
}

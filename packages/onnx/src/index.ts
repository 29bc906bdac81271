export { importOnnx, IMPORTERS, type ImportOptions } from './import/import.js';
export { OnnxImportError } from './import/context.js';
export { decodeModel, decodeTensor, encodeModel, encodeTensor, type ModelProto, type TensorProto } from './proto/proto.js';
export { readTensor, floatTensorProto, type OnnxTensor } from './tensors.js';
export { ONNX_PROTO, ONNX_PROTO_VERSION } from './proto/onnx-proto.js';
export { transposeData, TO_NCHW, TO_NHWC } from './layout.js';
export { exportOnnx, EXPORT_OPSET } from './export/export.js';
export { EXPORTERS } from './export/ops.js';
export { AttributeType, DataType, type NodeProto, type GraphProto, type AttributeProto } from './proto/proto.js';

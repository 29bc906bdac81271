import schema from './onnx.proto.json' with { type: 'json' };

/*
 * ONNX's schema: onnx/onnx.proto of the onnx 1.23.1 Python package, verbatim, kept as a string in
 * onnx.proto.json (Apache-2.0: see ../../LICENSE-onnx-proto) so that protobufjs parses it at run
 * time in Node and in browsers alike (bundlers inline JSON); the test-data suite checks it against
 * the package's file (packages/onnx/test/testdata-suite.ts).
 */
export const ONNX_PROTO_VERSION: string = schema.version;

export const ONNX_PROTO: string = schema.proto;

export { FormatError, jsonPath } from './format-error.js';
export * from './graph-json.js';
export * from './npy.js';
export { describeIssue } from '../zod-issues.js';
export { readWeights, WeightFile, type WeightFormat } from './weight-file.js';

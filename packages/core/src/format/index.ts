export { FormatError } from './format-error.js';
export * from './graph-json.js';
export * from './npy.js';

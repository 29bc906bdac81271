export {
  OP_NAMES_UNDER_TEST,
  opCaseArbitrary,
  graphArbitrary,
  graphRecipeArbitrary,
  buildGraphCase,
  reshapeTarget,
  repairConv,
  type ConformanceCase,
  type OpUnderTest,
  type GraphArbitraryOptions,
  type GraphRecipe,
  type GraphStep,
} from './arbitraries.js';
export { CaseBuilder, type Holder } from './case.js';
export { dataSpecArbitrary, fillData, dataMaxAbs, type DataSpec, type DataStyle, type DataSpecOptions } from './data.js';
export { compareToReference, checkElement, describeComparison, formatRatio, FLOAT32_MAX, FLOAT32_OVERFLOW, type Comparison, type ElementFailure } from './compare.js';
export {
  runConformance,
  runConformanceToReport,
  checkCase,
  compareOutputs,
  formatReport,
  freshSeed,
  GRAPHS_PROPERTY,
  type ConformanceOptions,
  type ConformanceEvent,
  type ConformanceReport,
  type ConformanceFailure,
  type PropertyReport,
  type CaseOutcome,
} from './runner.js';

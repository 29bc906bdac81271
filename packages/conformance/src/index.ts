export {
  OP_NAMES_UNDER_TEST,
  opCaseArbitrary,
  graphArbitrary,
  graphRecipeArbitrary,
  buildGraphCase,
  GRAPH_OPS,
  GRAPH_OPS_EXCLUDED,
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
  formatReport,
  freshSeed,
  GRAPHS_PROPERTY,
  PASS_GRAPHS_PROPERTY,
  BOUND_IO_PROPERTY,
  defaultBoundIOGraphs,
  type ConformanceOptions,
  type ConformanceEvent,
  type ConformanceReport,
  type ConformanceFailure,
  type PropertyReport,
  type LikelyReport,
} from './runner.js';
export { checkCase, compareOutputs, type CaseOutcome, type CheckOptions, type ReferenceFn } from './check-case.js';
export { checkAgainstOracle, type Oracle } from './oracle.js';
export { tfjsOracle, loadTfjs } from './tfjs-oracle.js';
export { withVariants, variantName, type BackendVariant, type BackendWithVariants } from './variants.js';
export { passGraphArbitrary } from './pass-graphs.js';
export { BLOCK_EDGES, edgeSizes, sizeArb, fitBudget } from './sizes.js';
export { SPECIAL_PROPERTIES, nonFiniteArbitrary, extremeArbitrary, injectNonFinite, scaleExtreme, type SpecialProperty, type Injection, type ExtremeScales } from './special.js';
export {
  checkTransformCase,
  checkTransformOnBackends,
  type TransformBackendOptions,
  runTransformConformance,
  runTransformConformanceToReport,
  transformSubject,
  type GraphTransform,
  type TransformConformanceOptions,
} from './transform.js';
export {
  writeRepro,
  readRepro,
  replayRepro,
  reproToJson,
  reproFromJson,
  reproFileName,
  recheckRecorded,
  REPRO_DIR,
  REPRO_FORMAT,
  REPRO_VERSION,
  type Repro,
  type ReproJson,
  type ReproOptions,
  type ReplayOptions,
  type ReplayResult,
} from './repro.js';
export { agreementMatrix, AgreementCollector, type AgreementCell } from './agreement.js';

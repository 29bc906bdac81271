import { FRAGMENT_HEADER } from './device.js';
import { outputCoords, samplerDecl, type Layout } from './layout.js';

/**
 * A complete fragment shader: samplers T0..Tn with fetch functions T<i>_at(row, texelColumn),
 * then `body`, which runs with `int r, c4` set to the output texel and assigns `outColor`.
 * All geometry is baked into the source as constants, so the source is the program's cache key.
 */
export function fragmentShader(inputs: readonly Layout[], out: Layout, body: string, helpers = ''): string {
  return `${FRAGMENT_HEADER}out vec4 outColor;
${inputs.map((l, i) => samplerDecl(`T${i}`, l)).join('')}${helpers}
void main() {
  ${outputCoords(out)}
  ${body}
}
`;
}

/** The lanes of a vec4 expression, for generated per-lane code. */
export const LANES = ['x', 'y', 'z', 'w'] as const;

/** A GLSL expression of exactly the float32 value of `n` (-0 and every other value bit for bit). */
export function f32Bits(n: number): string {
  const bits = new Uint32Array(Float32Array.of(n).buffer)[0];
  return `uintBitsToFloat(0x${bits.toString(16)}u)`;
}

/**
 * GLSL statements that decompose `int ${r}` (a row of a tensor whose dimensions before the last
 * are `outer`) into its index on every axis, and add index times `strides[k][axis]` to
 * `int ${names[k]}` for every k (declared here, starting at 0). Axes where every stride is 0 are
 * only divided out.
 */
export function rowDecomposition(r: string, outer: readonly number[], names: readonly string[], strides: readonly (readonly number[])[]): string {
  let s = `int rest_ = ${r};${names.map((n) => ` int ${n} = 0;`).join('')}
`;
  for (let a = outer.length - 1; a >= 0; a--) {
    const adds = names.map((n, k) => (strides[k][a] ? ` ${n} += i_ * ${strides[k][a]};` : '')).join('');
    if (!adds) {
      if (a > 0) s += `  rest_ /= ${outer[a]};
`;
      continue;
    }
    s += `  { int i_ = rest_ % ${outer[a]}; rest_ /= ${outer[a]};${adds} }
`;
  }
  return s;
}

/** A GLSL float literal. */
export function f(n: number): string {
  return Number.isInteger(n) ? `${n}.0` : String(n);
}

/**
 * A shader with `parts` render targets o0..o{parts-1}, all of layout `out`; `body` runs with
 * `int q, c4` set to the texel of the parts this fragment computes (no early exit: every
 * output must be written).
 */
export function mrtShader(inputs: readonly Layout[], out: Layout, parts: number, body: string, helpers = ''): string {
  const outs = Array.from({ length: parts }, (_, i) => `layout(location = ${i}) out vec4 o${i};`).join('\n');
  const coords =
    out.width === out.c4
      ? 'int c4 = int(gl_FragCoord.x); int q = int(gl_FragCoord.y);'
      : `int t_ = int(gl_FragCoord.y) * ${out.width} + int(gl_FragCoord.x); int q = t_ / ${out.c4}; int c4 = t_ - q * ${out.c4};`;
  return `${FRAGMENT_HEADER}${outs}
${inputs.map((l, i) => samplerDecl(`T${i}`, l)).join('')}${helpers}
void main() {
  ${coords}
  ${body}
}
`;
}

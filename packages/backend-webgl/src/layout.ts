import { numel, type Shape } from '@tessera/core';

/**
 * How a tensor lives in an RGBA32F texture. The tensor is seen as a matrix of `rows` x `cols`
 * (cols = the last, channel dimension of NHWC; rows = the product of the others), packed
 * 4 channels per texel: texel index t = row * c4 + floor(col / 4), channel col % 4, with
 * c4 = ceil(cols / 4). Texel t sits at (t % width, floor(t / width)). The width is c4 times a
 * power of two when a row fits (so a row never straddles texture rows and addressing needs
 * no division), or a power of two otherwise (rows wider than MAX_TEXTURE_SIZE wrap).
 * The lanes of a row's last texel past `cols` are padding: no program reads them as data.
 */
export interface Layout {
  readonly rows: number;
  readonly cols: number;
  readonly c4: number;
  readonly width: number;
  readonly height: number;
}

export function texels(l: Layout): number {
  return l.rows * l.c4;
}

function floorPow2(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

/** The layout of a tensor of `shape` on a device whose textures are at most `maxSize` wide and high. */
export function layoutOf(shape: Shape, maxSize: number): Layout {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const rows = numel(shape) / cols;
  const c4 = Math.ceil(cols / 4);
  const t = rows * c4;
  if (c4 <= maxSize) {
    let m = 1;
    while (Math.ceil(rows / m) > maxSize && c4 * m * 2 <= maxSize) m *= 2;
    if (Math.ceil(rows / m) <= maxSize) return { rows, cols, c4, width: c4 * m, height: Math.ceil(rows / m) };
  }
  const width = floorPow2(maxSize);
  const height = Math.ceil(t / width);
  if (height > maxSize) {
    throw new Error(
      `tensor of shape [${shape.join(', ')}] needs ${t} RGBA texels, more than one ${maxSize}x${maxSize} texture holds`,
    );
  }
  return { rows, cols, c4, width, height };
}

/** A view of the same texels with another shape, or null when the packing differs. */
export function viewLayout(src: Layout, shape: Shape): Layout | null {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const samePacking = cols === src.cols || (cols % 4 === 0 && src.cols % 4 === 0);
  if (!samePacking) return null;
  const rows = numel(shape) / cols;
  return { rows, cols, c4: Math.ceil(cols / 4), width: src.width, height: src.height };
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;
const log2 = (n: number) => Math.round(Math.log2(n));

/** GLSL ivec2 texel coordinate of (row r, texel column c4) in layout l; r and c4 are GLSL int expressions. */
export function coordExpr(l: Layout, r: string, c4: string): string {
  if (l.width === l.c4) return `ivec2(${c4}, ${r})`;
  const m = l.width / l.c4;
  if (Number.isInteger(m) && isPow2(m)) return `ivec2(((${r}) & ${m - 1}) * ${l.c4} + (${c4}), (${r}) >> ${log2(m)})`;
  const t = `((${r}) * ${l.c4} + (${c4}))`;
  if (isPow2(l.width)) return `ivec2(${t} & ${l.width - 1}, ${t} >> ${log2(l.width)})`;
  return `ivec2(${t} % ${l.width}, ${t} / ${l.width})`;
}

/** GLSL declarations of sampler `name` and its fetch function `name_at(int r, int c4)`. */
export function samplerDecl(name: string, l: Layout): string {
  // texture() with NEAREST filtering at texel centres returns the texel exactly, and on
  // SwiftShader it ran ~1.3-1.7x faster than texelFetch in the GEMM loop (benchmarks/browser).
  const inv = `vec2(${1 / l.width}, ${1 / l.height})`;
  const coord = l.width === l.c4 ? 'vec2(float(c4), float(r))' : `vec2(${coordExpr(l, 'r', 'c4')})`;
  return `uniform highp sampler2D ${name};
vec4 ${name}_at(int r, int c4) { return texture(${name}, (${coord} + 0.5) * ${inv}); }
`;
}

/**
 * GLSL statements that set `int r, c4` to the output texel this fragment computes, and leave
 * fragments past the end (the last texture row may be partial) with zeros.
 */
export function outputCoords(l: Layout): string {
  if (l.width === l.c4) {
    return `int c4 = int(gl_FragCoord.x); int r = int(gl_FragCoord.y);
  if (r >= ${l.rows}) { outColor = vec4(0.0); return; }`;
  }
  return `int t_ = int(gl_FragCoord.y) * ${l.width} + int(gl_FragCoord.x);
  int r = t_ / ${l.c4}; int c4 = t_ - r * ${l.c4};
  if (r >= ${l.rows}) { outColor = vec4(0.0); return; }`;
}

/** Packs row-major data of a layout into texel order (W x H RGBA floats); padding lanes are 0. */
export function packTexels(l: Layout, data: ArrayLike<number>, dst?: Float32Array): Float32Array {
  const out = dst ?? new Float32Array(l.width * l.height * 4);
  if (l.cols % 4 === 0) {
    out.set(data as ArrayLike<number>, 0);
    return out;
  }
  for (let r = 0; r < l.rows; r++) {
    const src = r * l.cols;
    const base = r * l.c4 * 4;
    for (let c = 0; c < l.cols; c++) out[base + c] = data[src + c];
  }
  return out;
}

/** The inverse of packTexels: row-major data from texels read back. */
export function unpackTexels(l: Layout, texelData: Float32Array): Float32Array {
  const n = l.rows * l.cols;
  if (l.cols % 4 === 0) return texelData.slice(0, n);
  const out = new Float32Array(n);
  for (let r = 0; r < l.rows; r++) {
    const base = r * l.c4 * 4;
    out.set(texelData.subarray(base, base + l.cols), r * l.cols);
  }
  return out;
}

/**
 * Micro-benchmark of one-row-per-fragment GEMM shader variants (512^3) on this device: texelFetch
 * against texture() at texel centres, unrolling, early exit. Run with
 * `BENCH_FILE=benchmarks/browser/gemm-variants.micro.browser.ts npx vitest run -c benchmarks/browser/one.config.ts`.
 */
import { Device, layoutOf } from '@tessera/backend-webgl';
import { it } from 'vitest';
import { FRAGMENT_HEADER } from '../../packages/backend-webgl/src/device.js';
import { fragmentShader } from '../../packages/backend-webgl/src/glsl.js';
import { gemmBody } from '../../packages/backend-webgl/src/ops/matmul.js';

const M = 512, K = 512, N = 512;

it('gemm variants', async () => {
  const d = new Device();
  const la = layoutOf([M, K], d.maxTextureSize);
  const lb = layoutOf([K, N], d.maxTextureSize);
  const lo = layoutOf([M, N], d.maxTextureSize);
  const ta = d.createTexture(la.width, la.height);
  const tb = d.createTexture(lb.width, lb.height);
  const to = d.createTexture(lo.width, lo.height);
  d.upload(ta, new Float32Array(M * K).map(() => Math.random()));
  d.upload(tb, new Float32Array(K * N).map(() => Math.random()));
  const variants: Record<string, string> = {
    current: fragmentShader([la, lb], lo, gemmBody(K, '0', 'outColor = acc;')),
    unroll2: fragmentShader([la, lb], lo, `vec4 acc = vec4(0.0);
  for (int k4 = 0; k4 < ${K / 4}; k4 += 2) {
    vec4 a = texelFetch(T0, ivec2(k4, r), 0); vec4 a2 = texelFetch(T0, ivec2(k4 + 1, r), 0);
    int kb = k4 * 4;
    acc += a.x * texelFetch(T1, ivec2(c4, kb), 0) + a.y * texelFetch(T1, ivec2(c4, kb + 1), 0) + a.z * texelFetch(T1, ivec2(c4, kb + 2), 0) + a.w * texelFetch(T1, ivec2(c4, kb + 3), 0);
    acc += a2.x * texelFetch(T1, ivec2(c4, kb + 4), 0) + a2.y * texelFetch(T1, ivec2(c4, kb + 5), 0) + a2.z * texelFetch(T1, ivec2(c4, kb + 6), 0) + a2.w * texelFetch(T1, ivec2(c4, kb + 7), 0);
  }
  outColor = acc;`),
    separateAdds: fragmentShader([la, lb], lo, `vec4 acc = vec4(0.0);
  for (int k4 = 0; k4 < ${K / 4}; k4++) {
    vec4 a = texelFetch(T0, ivec2(k4, r), 0);
    int kb = k4 * 4;
    vec4 b0 = texelFetch(T1, ivec2(c4, kb), 0); vec4 b1 = texelFetch(T1, ivec2(c4, kb + 1), 0);
    vec4 b2 = texelFetch(T1, ivec2(c4, kb + 2), 0); vec4 b3 = texelFetch(T1, ivec2(c4, kb + 3), 0);
    acc += a.x * b0; acc += a.y * b1; acc += a.z * b2; acc += a.w * b3;
  }
  outColor = acc;`),
    normalizedTexture: fragmentShader([la, lb], lo, `vec4 acc = vec4(0.0);
  vec2 ia = vec2(1.0 / ${la.width}.0, 1.0 / ${la.height}.0); vec2 ib = vec2(1.0 / ${lb.width}.0, 1.0 / ${lb.height}.0);
  float u = (float(c4) + 0.5) * ib.x; float va = (float(r) + 0.5) * ia.y;
  for (int k4 = 0; k4 < ${K / 4}; k4++) {
    vec4 a = texture(T0, vec2((float(k4) + 0.5) * ia.x, va));
    float kb = float(k4 * 4) + 0.5;
    acc += a.x * texture(T1, vec2(u, kb * ib.y)) + a.y * texture(T1, vec2(u, (kb + 1.0) * ib.y)) + a.z * texture(T1, vec2(u, (kb + 2.0) * ib.y)) + a.w * texture(T1, vec2(u, (kb + 3.0) * ib.y));
  }
  outColor = acc;`),
    textureIncr: fragmentShader([la, lb], lo, `vec4 acc = vec4(0.0);
  const float dax = 1.0 / ${la.width}.0; const float dby = 1.0 / ${lb.height}.0;
  vec2 pa = vec2(0.5 * dax, (float(r) + 0.5) / ${la.height}.0);
  vec2 pb = vec2((float(c4) + 0.5) / ${lb.width}.0, 0.5 * dby);
  for (int k4 = 0; k4 < ${K / 4}; k4++) {
    vec4 a = texture(T0, pa);
    vec4 b0 = texture(T1, pb); vec4 b1 = texture(T1, pb + vec2(0.0, dby));
    vec4 b2 = texture(T1, pb + vec2(0.0, 2.0 * dby)); vec4 b3 = texture(T1, pb + vec2(0.0, 3.0 * dby));
    acc += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
    pa.x += dax; pb.y += 4.0 * dby;
  }
  outColor = acc;`),
    textureIncr2rows: fragmentShader([la, lb], lo, `vec4 acc = vec4(0.0);
  const float dax = 1.0 / ${la.width}.0; const float dby = 1.0 / ${lb.height}.0;
  vec2 pa = vec2(0.5 * dax, (float(r) + 0.5) / ${la.height}.0);
  vec2 pb = vec2((float(c4) + 0.5) / ${lb.width}.0, 0.5 * dby);
  for (int k4 = 0; k4 < ${K / 4}; k4 += 2) {
    vec4 a = texture(T0, pa); vec4 a2 = texture(T0, pa + vec2(dax, 0.0));
    acc += a.x * texture(T1, pb) + a.y * texture(T1, pb + vec2(0.0, dby)) + a.z * texture(T1, pb + vec2(0.0, 2.0 * dby)) + a.w * texture(T1, pb + vec2(0.0, 3.0 * dby));
    acc += a2.x * texture(T1, pb + vec2(0.0, 4.0 * dby)) + a2.y * texture(T1, pb + vec2(0.0, 5.0 * dby)) + a2.z * texture(T1, pb + vec2(0.0, 6.0 * dby)) + a2.w * texture(T1, pb + vec2(0.0, 7.0 * dby));
    pa.x += 2.0 * dax; pb.y += 8.0 * dby;
  }
  outColor = acc;`),
    noEarlyReturn: `${FRAGMENT_HEADER}out vec4 outColor;
uniform highp sampler2D T0; uniform highp sampler2D T1;
void main() {
  int c4 = int(gl_FragCoord.x); int r = int(gl_FragCoord.y);
  vec4 acc = vec4(0.0);
  for (int k4 = 0; k4 < ${K / 4}; k4++) {
    vec4 a = texelFetch(T0, ivec2(k4, r), 0);
    int kb = k4 * 4;
    acc += a.x * texelFetch(T1, ivec2(c4, kb), 0) + a.y * texelFetch(T1, ivec2(c4, kb + 1), 0) + a.z * texelFetch(T1, ivec2(c4, kb + 2), 0) + a.w * texelFetch(T1, ivec2(c4, kb + 3), 0);
  }
  outColor = acc;
}`,
  };
  const lines: string[] = [];
  const progs = Object.entries(variants).map(([name, src]) => ({ name, p: d.acquireProgram(src, 2), times: [] as number[] }));
  for (const v of progs) {
    d.draw(v.p, [ta, tb], to);
    d.sync(to);
  }
  // Round-robin, min over rounds: the machine is shared and noisy.
  for (let round = 0; round < 8; round++) {
    for (const v of progs) {
      const t0 = performance.now();
      d.draw(v.p, [ta, tb], to);
      d.sync(to);
      v.times.push(performance.now() - t0);
    }
  }
  for (const v of progs) {
    v.times.sort((a, b) => a - b);
    lines.push(`${v.name}: min ${v.times[0].toFixed(1)} ms, median ${v.times[4].toFixed(1)} ms`);
  }
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    d.upload(ta, new Float32Array(M * K));
    d.sync(ta);
    const t1 = performance.now();
    d.read(to, M * N / 4);
    const t2 = performance.now();
    lines.push(`upload 1MB ${(t1 - t0).toFixed(1)} ms, read 1MB ${(t2 - t1).toFixed(1)} ms`);
  }
  console.log(lines.join('\n'));
});

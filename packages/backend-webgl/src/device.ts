import type { Layout } from './layout.js';

/** Live GL objects, counted so tests can check that dispose() frees everything. */
export interface LiveCounts {
  textures: number;
  framebuffers: number;
  programs: number;
  shaders: number;
}

export interface DeviceOptions {
  /** A context to use instead of creating one (tests pass wrapped contexts). */
  readonly gl?: WebGL2RenderingContext;
  /** A canvas to create the context on (an OffscreenCanvas in a worker, or a page's canvas). */
  readonly canvas?: HTMLCanvasElement | OffscreenCanvas;
}

export class WebGLUnavailableError extends Error {
  override name = 'WebGLUnavailableError';
}

/** Thrown by runs whose context was lost (WEBGL_lose_context, a GPU reset). */
export class ContextLostError extends Error {
  override name = 'ContextLostError';
}

const VERTEX = `#version 300 es
void main() {
  // One triangle that covers the viewport: (-1,-1), (3,-1), (-1,3).
  vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
  gl_Position = vec4(p, 0.0, 1.0);
}`;

export const FRAGMENT_HEADER = `#version 300 es
precision highp float;
precision highp int;
precision highp sampler2D;
#define NEG_INF uintBitsToFloat(0xff800000u)
bvec4 isnan4(vec4 v) { return greaterThan(floatBitsToUint(v) & 0x7fffffffu, uvec4(0x7f800000u)); }
// relu: x <= 0 (-0 included) selects +0 explicitly, as GLSL's max(-0.0, 0.0) may be either zero;
// NaN is selected by its bits, as GLSL does not promise IEEE comparisons with NaN.
vec4 relu4(vec4 v) { return mix(mix(v, vec4(0.0), lessThanEqual(v, vec4(0.0))), v, isnan4(v)); }
// relu6: relu4, then 6 where it is larger; NaN selected by its bits again.
vec4 relu6_4(vec4 v) { vec4 y = relu4(v); return mix(mix(y, vec4(6.0), greaterThan(y, vec4(6.0))), v, isnan4(v)); }
`;

interface CachedProgram {
  program: WebGLProgram;
  refs: number;
}

export interface Texture {
  readonly texture: WebGLTexture;
  readonly fbo: WebGLFramebuffer;
  readonly width: number;
  readonly height: number;
}

function createContext(options: DeviceOptions): { gl: WebGL2RenderingContext; canvas: EventTarget | null } {
  if (options.gl) return { gl: options.gl, canvas: (options.gl.canvas as unknown as EventTarget) ?? null };
  let canvas = options.canvas;
  if (!canvas) {
    if (typeof OffscreenCanvas !== 'undefined' && typeof document === 'undefined') canvas = new OffscreenCanvas(1, 1);
    else if (typeof document !== 'undefined') canvas = document.createElement('canvas');
    else if (typeof OffscreenCanvas !== 'undefined') canvas = new OffscreenCanvas(1, 1);
  }
  if (!canvas) {
    throw new WebGLUnavailableError(
      "the 'webgl' backend needs a browser with WebGL2 (a page or a worker with OffscreenCanvas); this environment has neither document nor OffscreenCanvas. " +
        "Use the 'cpu' or 'workers' backend here, or run in a browser.",
    );
  }
  const attrs: WebGLContextAttributes = {
    alpha: true,
    antialias: false,
    depth: false,
    stencil: false,
    premultipliedAlpha: false,
    preserveDrawingBuffer: false,
    powerPreference: 'high-performance',
    failIfMajorPerformanceCaveat: false,
  };
  const gl = canvas.getContext('webgl2', attrs) as WebGL2RenderingContext | null;
  if (!gl) {
    throw new WebGLUnavailableError("the 'webgl' backend needs WebGL2, and this browser could not create a WebGL2 context");
  }
  return { gl, canvas: canvas as unknown as EventTarget };
}

/**
 * One WebGL2 context with float32 render targets: textures, framebuffers and programs, all
 * counted. Creation fails with a clear error where float32 rendering is not available
 * (Tessera never falls back to float16).
 */
export class Device {
  readonly gl: WebGL2RenderingContext;
  readonly maxTextureSize: number;
  readonly renderer: string;
  readonly live: LiveCounts = { textures: 0, framebuffers: 0, programs: 0, shaders: 0 };
  /** Bumped on every context restore: objects of an older generation are gone. */
  generation = 0;
  private lost = false;
  private readonly programs = new Map<string, CachedProgram>();
  private readonly canvas: EventTarget | null;
  private readonly onLost = (e: Event) => {
    e.preventDefault(); // allows the context to be restored
    this.lost = true;
  };
  private readonly onRestored = () => {
    if (!this.lost) return;
    this.lost = false;
    this.generation++;
    this.programs.clear();
    this.live.textures = this.live.framebuffers = this.live.programs = this.live.shaders = 0;
    this.setup();
  };

  constructor(options: DeviceOptions = {}) {
    const { gl, canvas } = createContext(options);
    this.gl = gl;
    this.canvas = canvas;
    if (!gl.getExtension('EXT_color_buffer_float')) {
      throw new WebGLUnavailableError(
        "the 'webgl' backend needs float32 render targets (WebGL2 extension EXT_color_buffer_float), which this device does not offer; " +
          'Tessera computes in float32 only and does not fall back to float16. Use the cpu or workers backend on this device.',
      );
    }
    this.maxTextureSize = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    const dbg = gl.getExtension('WEBGL_debug_renderer_info');
    this.renderer = String(gl.getParameter(dbg ? dbg.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    this.checkFloatRendering();
    canvas?.addEventListener?.('webglcontextlost', this.onLost);
    canvas?.addEventListener?.('webglcontextrestored', this.onRestored);
    canvas?.addEventListener?.('contextlost', this.onLost);
    canvas?.addEventListener?.('contextrestored', this.onRestored);
    this.setup();
  }

  private setup(): void {
    const gl = this.gl;
    // Extensions are part of the context: enable again after a restore.
    gl.getExtension('EXT_color_buffer_float');
    gl.disable(gl.DEPTH_TEST);
    gl.disable(gl.BLEND);
    gl.disable(gl.DITHER);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
  }

  /** A 1x1 RGBA32F framebuffer must be complete, or float32 rendering does not really work. */
  private checkFloatRendering(): void {
    const gl = this.gl;
    const t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, 1, 1);
    const f = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, f);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, t, 0);
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.deleteFramebuffer(f);
    gl.deleteTexture(t);
    if (status !== gl.FRAMEBUFFER_COMPLETE) {
      throw new WebGLUnavailableError(
        `the 'webgl' backend needs RGBA32F render targets, but an RGBA32F framebuffer is incomplete here (status 0x${status.toString(16)}); no float16 fallback is used`,
      );
    }
  }

  /**
   * Whether the context is lost now. A context seen lost and now back (restored, whether or not
   * the restore event has been delivered yet) starts a new generation: everything is gone.
   */
  get isLost(): boolean {
    if (this.gl.isContextLost()) {
      this.lost = true;
      return true;
    }
    if (this.lost) this.onRestored();
    return false;
  }

  /** Throws a ContextLostError naming what was being done. */
  assertAlive(what: string): void {
    if (this.isLost) {
      throw new ContextLostError(
        `WebGL context lost while ${what}: the GPU objects of this session are gone. Dispose the session and compile the graph again (createSession) once the context is restored.`,
      );
    }
  }

  createTexture(width: number, height: number): Texture {
    const gl = this.gl;
    const texture = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, width, height);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.live.textures++;
    const fbo = gl.createFramebuffer()!;
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.live.framebuffers++;
    return { texture, fbo, width, height };
  }

  deleteTexture(t: Texture): void {
    this.gl.deleteFramebuffer(t.fbo);
    this.gl.deleteTexture(t.texture);
    this.live.framebuffers--;
    this.live.textures--;
  }

  /** A framebuffer rendering to several textures at once (layout(location = i) outputs). */
  createFramebuffer(textures: readonly Texture[]): WebGLFramebuffer {
    const gl = this.gl;
    const fbo = gl.createFramebuffer()!;
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo);
    textures.forEach((t, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, t.texture, 0));
    gl.drawBuffers(textures.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.live.framebuffers++;
    return fbo;
  }

  deleteFramebuffer(fbo: WebGLFramebuffer): void {
    this.gl.deleteFramebuffer(fbo);
    this.live.framebuffers--;
  }

  /** Writes texel data (width * height * 4 floats, or fewer: whole rows then a partial one). */
  upload(t: Texture, data: Float32Array): void {
    const gl = this.gl;
    gl.bindTexture(gl.TEXTURE_2D, t.texture);
    const texelCount = Math.min(Math.floor(data.length / 4), t.width * t.height);
    const fullRows = Math.floor(texelCount / t.width);
    if (fullRows > 0) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, t.width, fullRows, gl.RGBA, gl.FLOAT, data, 0);
    const rest = texelCount - fullRows * t.width;
    if (rest > 0) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, fullRows, rest, 1, gl.RGBA, gl.FLOAT, data, fullRows * t.width * 4);
  }

  /** Reads the first `texelCount` texels (RGBA float) of a texture; this also waits for the GPU. */
  read(t: Texture, texelCount: number): Float32Array {
    const gl = this.gl;
    const fullRows = Math.floor(texelCount / t.width);
    const rest = texelCount - fullRows * t.width;
    const out = new Float32Array((fullRows * t.width + (rest > 0 ? t.width : 0)) * 4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, t.fbo);
    if (fullRows > 0) gl.readPixels(0, 0, t.width, fullRows, gl.RGBA, gl.FLOAT, out, 0);
    if (rest > 0) gl.readPixels(0, fullRows, rest, 1, gl.RGBA, gl.FLOAT, out, fullRows * t.width * 4);
    return out;
  }

  /** Waits for all submitted work (gl.finish does not wait on SwiftShader; a 1-texel read does). */
  sync(t: Texture): void {
    const gl = this.gl;
    const px = new Float32Array(4);
    gl.bindFramebuffer(gl.FRAMEBUFFER, t.fbo);
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.FLOAT, px);
  }

  /** The program for a fragment shader body (cached by its source, counted by reference). */
  acquireProgram(source: string, samplers: number): WebGLProgram {
    const cached = this.programs.get(source);
    if (cached) {
      cached.refs++;
      return cached.program;
    }
    const gl = this.gl;
    const vs = this.compileShader(gl.VERTEX_SHADER, VERTEX);
    const fs = this.compileShader(gl.FRAGMENT_SHADER, source);
    const program = gl.createProgram()!;
    this.live.programs++;
    gl.attachShader(program, vs);
    gl.attachShader(program, fs);
    gl.linkProgram(program);
    gl.detachShader(program, vs);
    gl.detachShader(program, fs);
    gl.deleteShader(vs);
    gl.deleteShader(fs);
    this.live.shaders -= 2;
    if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
      const log = gl.getProgramInfoLog(program);
      gl.deleteProgram(program);
      this.live.programs--;
      throw new Error(`webgl: program failed to link: ${log}\n${source}`);
    }
    gl.useProgram(program);
    for (let i = 0; i < samplers; i++) gl.uniform1i(gl.getUniformLocation(program, `T${i}`), i);
    this.programs.set(source, { program, refs: 1 });
    return program;
  }

  releaseProgram(source: string): void {
    const cached = this.programs.get(source);
    if (!cached) return;
    if (--cached.refs === 0) {
      this.gl.deleteProgram(cached.program);
      this.programs.delete(source);
      this.live.programs--;
    }
  }

  private compileShader(type: number, source: string): WebGLShader {
    const gl = this.gl;
    const s = gl.createShader(type)!;
    this.live.shaders++;
    gl.shaderSource(s, source);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS) && !gl.isContextLost()) {
      const log = gl.getShaderInfoLog(s);
      gl.deleteShader(s);
      this.live.shaders--;
      const numbered = source.split('\n').map((l, i) => `${i + 1}: ${l}`).join('\n');
      throw new Error(`webgl: shader failed to compile: ${log}\n${numbered}`);
    }
    return s;
  }

  /** Runs a program over every texel of `out`, with `inputs` bound to samplers T0, T1, ... */
  draw(program: WebGLProgram, inputs: readonly Texture[], out: Texture, fbo: WebGLFramebuffer | null = null): void {
    const gl = this.gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, fbo ?? out.fbo);
    gl.viewport(0, 0, out.width, out.height);
    gl.useProgram(program);
    for (let i = 0; i < inputs.length; i++) {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, inputs[i].texture);
    }
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    // Unbind so the next draw can render into these textures without a feedback loop.
    for (let i = 0; i < inputs.length; i++) {
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, null);
    }
  }

  dispose(): void {
    for (const p of this.programs.values()) this.gl.deleteProgram(p.program);
    this.live.programs -= this.programs.size;
    this.programs.clear();
    this.canvas?.removeEventListener?.('webglcontextlost', this.onLost);
    this.canvas?.removeEventListener?.('webglcontextrestored', this.onRestored);
    this.canvas?.removeEventListener?.('contextlost', this.onLost);
    this.canvas?.removeEventListener?.('contextrestored', this.onRestored);
  }
}

export type { Layout };

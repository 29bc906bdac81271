import type { Device } from './device.js';
import type { TensorRef, TexturePool } from './texture-pool.js';

/** One draw: a fragment program over every texel of `output`, reading `inputs` as samplers T0.. */
export interface DrawStep {
  readonly source: string;
  readonly inputs: readonly TensorRef[];
  /** The first output; with several (multiple render targets) all have the same size. */
  readonly output: TensorRef;
  readonly outputs: readonly TensorRef[];
  /** Framebuffer with every output attached (several outputs only), made at compile time. */
  readonly fbo: WebGLFramebuffer | null;
}

/** The programs and multiple-render-target framebuffers the draws of one compiled graph use. */
export class DrawResources {
  /** Sources of all programs acquired (each released once at dispose). */
  readonly sources: string[] = [];
  readonly programs = new Map<string, globalThis.WebGLProgram>();
  readonly fbos: WebGLFramebuffer[] = [];

  constructor(
    private readonly device: Device,
    private readonly pool: TexturePool,
  ) {}

  /** A draw of `source`: its program acquired on first use, a framebuffer made for several outputs. */
  draw(source: string, inputs: readonly TensorRef[], output: TensorRef | readonly TensorRef[]): DrawStep {
    if (!this.programs.has(source)) {
      this.programs.set(source, this.device.acquireProgram(source, inputs.length));
      this.sources.push(source);
    }
    const outputs = Array.isArray(output) ? (output as TensorRef[]) : [output as TensorRef];
    const fbo = outputs.length > 1 ? this.device.createFramebuffer(outputs.map((o) => this.pool.textures[o.slot])) : null;
    if (fbo) this.fbos.push(fbo);
    return { source, inputs, output: outputs[0], outputs, fbo };
  }

  dispose(): void {
    for (const f of this.fbos) this.device.deleteFramebuffer(f);
    for (const s of this.sources) this.device.releaseProgram(s);
    this.fbos.length = 0;
    this.sources.length = 0;
    this.programs.clear();
  }
}

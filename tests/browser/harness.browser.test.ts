import { describe, expect, it } from 'vitest';

describe('browser harness', () => {
  it('runs in a cross-origin-isolated Chromium page with SharedArrayBuffer', () => {
    expect(typeof window).toBe('object');
    expect(globalThis.crossOriginIsolated).toBe(true);
    const sab = new SharedArrayBuffer(16);
    expect(new Int32Array(sab).length).toBe(4);
  });

  it('has WebGL2 with float32 render targets', () => {
    const gl = document.createElement('canvas').getContext('webgl2');
    expect(gl).not.toBeNull();
    expect(gl!.getExtension('EXT_color_buffer_float')).not.toBeNull();
    console.log('renderer', gl!.getParameter(gl!.RENDERER), 'max texture', gl!.getParameter(gl!.MAX_TEXTURE_SIZE), 'max draw buffers', gl!.getParameter(gl!.MAX_DRAW_BUFFERS), 'ubo', gl!.getParameter(gl!.MAX_UNIFORM_BLOCK_SIZE));
  });
});

import { describe, expect, it } from 'vitest';
import { GraphBuilder, validateFeeds } from '../src/index.js';

describe('validateFeeds', () => {
  const graphWithInput = (name: string) => {
    const b = new GraphBuilder('g');
    return b.build({ y: b.relu(b.input(name, [2]), { name: 'y' }) });
  };

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty'])('says an input named %s is missing, not that Object.prototype holds the wrong type', (name) => {
    expect(() => validateFeeds(graphWithInput(name), {})).toThrow(`input '${name}' [2] is missing from the feeds`);
  });

  it('accepts the input given as an own property', () => {
    expect(() => validateFeeds(graphWithInput('constructor'), { constructor: new Float32Array(2) })).not.toThrow();
  });
});

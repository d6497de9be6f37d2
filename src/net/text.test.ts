import { describe, expect, it } from 'vitest';
import { quote } from './text.js';

describe('quote', () => {
  it('flattens whitespace and cuts long text', () => {
    expect(quote('a\n\n b\t c')).toBe('a b c');
    expect(quote('x'.repeat(10), 4)).toBe('xxxx…');
  });
});

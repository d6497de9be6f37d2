import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with a string level and component fields', () => {
    const out = capture();
    const log = createLogger('info', out.stream).child({ component: 'poller' });
    log.info({ device: '123' }, 'checked');
    const [line] = out.lines();
    expect(line).toMatchObject({ level: 'info', component: 'poller', device: '123', msg: 'checked' });
  });

  it('redacts secret-bearing keys', () => {
    const out = capture();
    const log = createLogger('info', out.stream);
    log.info({ token: 'tok-123', account: { token: 'tok-456', password: 'pw' } }, 'x');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('tok-123');
    expect(text).not.toContain('tok-456');
    expect(text).not.toContain('"pw"');
  });
});

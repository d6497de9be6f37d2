import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { duplicateKeyProblems } from './test-support/log-keys.js';

function capture(): { text: () => string[]; lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const text = (): string[] =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l.length > 0);
  return { stream, text, lines: () => text().map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes JSON lines with a string level and component fields', () => {
    const out = capture();
    const log = createLogger('info', out.stream).child({ component: 'poller' });
    log.info({ device: '123' }, 'checked');
    const [line] = out.lines();
    expect(line).toMatchObject({
      level: 'info',
      service: 'whatsgate-monitor',
      component: 'poller',
      device: '123',
      msg: 'checked',
    });
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

  it('writes every key once, however bindings and logged objects repeat it; the newest wins', () => {
    const out = capture();
    const root = createLogger('debug', out.stream);
    const notify = root.child({ component: 'notify' });
    const again = notify.child({ component: 'notify', channel: 'ops' });
    const other = again.child({ component: 'store' });
    notify.info({ component: 'notify' }, 'same value logged again');
    again.warn('bound twice');
    other.error({ channel: 'sales', err: new Error('boom') }, 'rebound and logged');
    root.info({ service: 'x' }, 'the base key');
    again.debug({ component: 'poller', account: 'main' }, 'object overrides binding');
    const text = out.text();
    expect(text).toHaveLength(5);
    expect(duplicateKeyProblems(text)).toEqual([]);
    expect(out.lines().map((l) => [l['msg'], l['component'], l['channel'], l['level']])).toEqual([
      ['same value logged again', 'notify', undefined, 'info'],
      ['bound twice', 'notify', 'ops', 'warn'],
      ['rebound and logged', 'store', 'sales', 'error'],
      ['the base key', undefined, undefined, 'info'],
      ['object overrides binding', 'poller', 'ops', 'debug'],
    ]);
    expect(out.lines()[3]?.['service']).toBe('x');
    expect(out.lines()[4]?.['account']).toBe('main');
  });

  it('a rebuilt child keeps its level and the redaction', () => {
    const out = capture();
    const quiet = createLogger('info', out.stream).child({ component: 'a' }, { level: 'warn' });
    const rebuilt = quiet.child({ component: 'b' });
    rebuilt.info('below the level');
    rebuilt.warn({ token: 'tok-789' }, 'kept');
    const lines = out.lines();
    expect(lines.map((l) => l['msg'])).toEqual(['kept']);
    expect(JSON.stringify(lines)).not.toContain('tok-789');
    expect(duplicateKeyProblems(out.text())).toEqual([]);
  });
});

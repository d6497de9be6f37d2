import { describe, expect, it } from 'vitest';
import { findSecretLeaks, leakForms } from '../test-support/no-secret-leaks.js';
import {
  ALERTMANAGER_URL,
  base64Cores,
  DISCORD_URL,
  PAGERDUTY_URL,
  REDACTED,
  redactSecrets,
  redactUrl,
  SERVICE_URL,
  SLACK_URL,
  TEAMS_URL,
  TELEGRAM_URL,
  UNPARSABLE_URL,
  urlSecrets,
  type UrlShape,
} from './redact.js';

const TEAMS =
  'https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d4e5f/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zk9vQmFyU2lnbmF0dXJl';

describe('redactUrl: a capability URL shows its host, not its path', () => {
  it.each<[string, UrlShape | undefined, string]>([
    ['https://hooks.example.com/wg', undefined, 'https://hooks.example.com/…'],
    ['https://user:pass@hooks.example.com/wg', undefined, 'https://hooks.example.com/…'],
    ['https://hooks.example.com/wg?token=abc#frag', undefined, 'https://hooks.example.com/…?…'],
    ['https://hooks.example.com/', undefined, 'https://hooks.example.com/'],
    ['smtp://mon:pw@mail.example.com:587', undefined, 'smtp://mail.example.com:587'],
    ['https://hooks.zapier.com/hooks/catch/123456/abcdef/', undefined, 'https://hooks.zapier.com/…'],
    ['https://n8n.example.com/webhook/5f1c-uuid', undefined, 'https://n8n.example.com/…'],
    [
      'https://hooks.slack.com/services/T0001/B0002/XXXXYYYY',
      SLACK_URL,
      'https://hooks.slack.com/services/…',
    ],
    [
      'https://discord.com/api/webhooks/112233445566/tok-en_x',
      DISCORD_URL,
      'https://discord.com/api/webhooks/…',
    ],
    [
      'https://discord.com/api/webhooks/112233445566/tok-en_x/slack',
      DISCORD_URL,
      'https://discord.com/api/webhooks/…/slack',
    ],
    [TEAMS, TEAMS_URL, 'https://prod-12.westeurope.logic.azure.com/workflows/…?…'],
    [
      'https://api.telegram.org/bot123456:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0/sendMessage',
      TELEGRAM_URL,
      'https://api.telegram.org/…/sendMessage',
    ],
    // A lone segment is never shown as a method: it may be the capability itself.
    ['https://api.telegram.org/sendMessage', TELEGRAM_URL, 'https://api.telegram.org/…'],
    ['https://events.pagerduty.com/v2/enqueue', PAGERDUTY_URL, 'https://events.pagerduty.com/v2/enqueue'],
    ['http://am:9093/api/v2/alerts', ALERTMANAGER_URL, 'http://am:9093/api/v2/alerts'],
    ['http://proxy/key-123/api/v2/alerts', ALERTMANAGER_URL, 'http://proxy/…'],
    ['https://acme.whatsgate.net/api?x=1', SERVICE_URL, 'https://acme.whatsgate.net/api?…'],
    ['not a url https://h/secret-path', undefined, UNPARSABLE_URL],
  ])('%s → %s', (input, shape, output) => {
    expect(redactUrl(input, shape)).toBe(output);
  });

  it('takes URL objects too (the gateway client), dropping user info', () => {
    expect(redactUrl(new URL('https://user:pw@acme.whatsgate.net/api'), SERVICE_URL)).toBe(
      'https://acme.whatsgate.net/api',
    );
    expect(redactUrl(new URL('http://127.0.0.1:8080/api'), SERVICE_URL)).toBe('http://127.0.0.1:8080/api');
  });
});

describe('urlSecrets: what of a URL is secret', () => {
  it('the password (as written and decoded), every hidden path segment, every query value', () => {
    expect(urlSecrets('smtp://u:p%40ss@h:587')).toEqual(['p%40ss', 'p@ss']);
    expect(urlSecrets('https://h/x?token=q1-long&empty=&v=1')).toEqual(['q1-long']);
    expect(urlSecrets('https://hooks.slack.com/services/T0001/B0002/XXXX%2FYY', SLACK_URL)).toEqual([
      'T0001',
      'B0002',
      'XXXX%2FYY',
      'XXXX/YY',
    ]);
    expect(urlSecrets(TEAMS, TEAMS_URL)).toEqual([
      '0a1b2c3d4e5f',
      'triggers',
      'manual',
      'paths',
      'invoke',
      '2016-06-01',
      '/triggers/manual/run',
      'Zk9vQmFyU2lnbmF0dXJl',
    ]);
    expect(urlSecrets('not a url')).toEqual([]);
  });

  it('the words a shape shows are not secrets (they would blank out ordinary text)', () => {
    expect(urlSecrets('http://am:9093/api/v2/alerts', ALERTMANAGER_URL)).toEqual([]);
    expect(urlSecrets('https://api.telegram.org/bot1:tok/sendMessage', TELEGRAM_URL)).toEqual(['bot1:tok']);
  });
});

describe('redactSecrets: the one redaction (gateway token, channel secrets)', () => {
  it('replaces every occurrence, URL-encoded and JSON-escaped ones too', () => {
    expect(redactSecrets('a p@ss/w"d b p%40ss%2Fw%22d c p@ss/w\\"d', ['p@ss/w"d'])).toBe(
      `a ${REDACTED} b ${REDACTED} c ${REDACTED}`,
    );
  });

  it('a secret of any length is redacted; null, undefined and empty entries are skipped', () => {
    expect(redactSecrets('k9 and k9', [null, undefined, '', 'k9'])).toBe(`${REDACTED} and ${REDACTED}`);
    expect(redactSecrets('nothing here', [''])).toBe('nothing here');
  });

  it('hides the longer of two overlapping secrets whole', () => {
    expect(redactSecrets('x user:pass-123 y', ['pass-123', 'user:pass-123'])).toBe(`x ${REDACTED} y`);
  });

  it('hides a secret inside a base64 blob at any offset: SMTP AUTH PLAIN and LOGIN, Basic', () => {
    const b64 = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
    const plain = b64('\0user\0pass');
    expect(plain).toBe('AHVzZXIAcGFzcw==');
    expect(redactSecrets(`535 5.7.8 Authentication failed: ${plain}`, ['pass'])).toBe(
      `535 5.7.8 Authentication failed: ${REDACTED}`,
    );
    for (const user of ['u', 'us', 'use', 'alice@example.com']) {
      for (const blob of [b64(`\0${user}\0s3cr3t-pw`), b64(`${user}:s3cr3t-pw`), b64('s3cr3t-pw')]) {
        expect(redactSecrets(`<${blob}>`, ['s3cr3t-pw'])).toBe(`<${REDACTED}>`);
        const urlSafe = Buffer.from(Buffer.from(blob, 'base64')).toString('base64url');
        expect(redactSecrets(`<${urlSafe}>`, ['s3cr3t-pw'])).toBe(`<${REDACTED}>`);
      }
    }
  });

  it('hides hex dumps of a secret', () => {
    const hex = Buffer.from('hex-secret').toString('hex');
    expect(redactSecrets(`dump ${hex} ${hex.toUpperCase()}`, ['hex-secret'])).toBe(
      `dump ${REDACTED} ${REDACTED}`,
    );
  });

  it.each(['whsec_MfKQ9r8GKYq', 'p@ss w/rd"\\é', 'T0001/B0002/XXXX', 'tok-123'])(
    'leaves none of the forms the leak finder looks for: %s',
    (secret) => {
      const text = leakForms(secret)
        .map((f) => `${f.form}: ${f.text};`)
        .join('\n');
      expect(findSecretLeaks([secret], [{ name: 'raw', content: text }]).length).toBeGreaterThan(0);
      const redacted = redactSecrets(text, [secret]);
      expect(findSecretLeaks([secret], [{ name: 'redacted', content: redacted }])).toEqual([]);
    },
  );

  it('leaves ordinary text alone', () => {
    const text = 'HTTP 500 from https://hooks.example.com/…: upstream timed out after 30 s';
    expect(redactSecrets(text, ['s3cr3t-pw', 'T0001'])).toBe(text);
    expect(base64Cores('ab')).toEqual([]);
  });
});

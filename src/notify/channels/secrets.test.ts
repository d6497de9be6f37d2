import { describe, expect, it } from 'vitest';
import { alertmanagerChannel, emailChannel, webhookChannel } from '../test-support/fixtures.js';
import { CHANNELS, channelSecrets } from './index.js';

describe('channelSecrets (each definition says which fields are secret)', () => {
  it('collects passwords (also inside the smtp URL, and as SMTP AUTH sends them), the capability parts of URLs, the webhook secret and auth-like headers', () => {
    expect(
      channelSecrets(
        emailChannel('ops', 587, {
          smtp: {
            url: 'smtp://u:p%40ss@h:587',
            host: null,
            port: null,
            secure: false,
            user: null,
            password: 'field-pw',
          },
        }),
      ),
    ).toEqual(['field-pw', 'p%40ss', 'p@ss', Buffer.from('\0u\0p@ss').toString('base64'), 'dQ==']);
    expect(
      channelSecrets(
        alertmanagerChannel('am', ['http://a:b1@am:9093', 'http://am2/?t=tok-1', 'http://px/key-9/api/v2']),
      ),
    ).toEqual(['b1', 'tok-1', 'key-9']);
    expect(
      channelSecrets(
        webhookChannel('hook', 'https://h/hooks/catch/1234/cap-5/?token=q1-long&empty=', {
          secret: 'whsec_abc',
          headers: { Authorization: 'Bearer t', 'X-Api-Key': 'k1', 'X-Team': 'sales' },
        }),
      ),
    ).toEqual(['hooks', 'catch', '1234', 'cap-5', 'q1-long', 'whsec_abc', 'Bearer t', 'k1']);
  });
});

describe('the registry', () => {
  it('lists each type once, each schema a strict object discriminated by its type', () => {
    const types = CHANNELS.map((c) => c.type);
    expect(new Set(types).size).toBe(types.length);
    for (const c of CHANNELS) {
      expect(c.schema.shape.type.value).toBe(c.type);
      expect(c.schema.safeParse({ type: c.type, unknown_key: 1 }).success).toBe(false);
    }
  });
});

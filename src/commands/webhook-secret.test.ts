import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/support/cli.js';
import { webhookSecretProblem } from '../fields/fields.js';
import { webhookRequest } from '../notify/channels/webhook/render.js';
import { deviceNote, UTC } from '../notify/test-support/fixtures.js';

describe('whatsgate-monitor webhook-secret (real binary)', () => {
  it('prints a fresh whsec_ key of 32 random bytes that check-config accepts and the library verifies', async () => {
    const [a, b] = await Promise.all([runCli(['webhook-secret']), runCli(['webhook-secret'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stderr).toBe('');
    expect(a.stdout).toMatch(/^whsec_[A-Za-z0-9+/]{43}=\n$/);
    const secret = a.stdout.trim();
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(b.stdout.trim()).not.toBe(secret);
    expect(webhookSecretProblem(secret)).toBeNull();

    // Signed as the webhook channel signs, verified with the official library's defaults.
    const now = Date.now();
    const { body, headers } = webhookRequest(
      {
        deliveryId: 'dlv-1',
        events: [deviceNote()],
        sentAt: now,
        secret,
        secretFormat: 'whsec',
        headers: {},
      },
      UTC,
    );
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ version: '1' });
  });

  it('is in the usage, and takes no arguments (exit 2)', async () => {
    expect((await runCli(['--help'])).stdout).toMatch(/^ {2}webhook-secret {2,}print a fresh whsec_/m);
    const r = await runCli(['webhook-secret', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('usage: webhook-secret');
  });
});

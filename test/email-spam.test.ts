// Every kind of alert email scored by SpamAssassin 4.0.1 (Debian's `spamassassin`, local tests
// only) with the first hop a receiving MX would add. Issue 16: a DOWN email with its QR code
// scored 3.8 here and 9.7 from a container (EHLO = a random hostname). Target: at most 1.0 each.
// Missing binary: skipped locally with the reason, a failure in CI (.ci/run installs it).

import { describe, expect, it } from 'vitest';
import { ehloName } from '../src/notify/channels/email/compose.js';
import { T0 } from '../src/notify/test-support/fixtures.js';
import { composeSample, emailSamples, SAMPLE_CHANNEL } from './support/email-samples.js';
import {
  receivedHeaders,
  SPAMASSASSIN_BIN,
  spamassassinAvailable,
  spamScore,
} from './support/spamassassin.js';

const available = spamassassinAvailable();
const inCi = process.env['CI'] !== undefined && process.env['CI'] !== '';
const MAX_SCORE = 1.0;

if (!available) {
  if (inCi) {
    it(`needs ${SPAMASSASSIN_BIN} (required in CI)`, () => {
      expect.fail(`${SPAMASSASSIN_BIN} is missing: install Debian's spamassassin package`);
    });
  } else {
    it.skip(`spam scores: skipped, ${SPAMASSASSIN_BIN} is not installed (apt-get install spamassassin)`, () =>
      undefined);
  }
}

describe.runIf(available)('alert emails under SpamAssassin', async () => {
  const samples = await emailSamples();
  const at = new Date(T0 + 6_000);
  const submission = receivedHeaders({ kind: 'submission', ehlo: ehloName(SAMPLE_CHANNEL) }, at);

  it.each(samples.map((s) => [s.name, s] as const))(
    `%s, through an authenticated relay from a host without reverse DNS: at most ${MAX_SCORE}`,
    async (_name, sample) => {
      const verdict = await spamScore(submission + (await composeSample(sample)));
      // The measured score in the run's output: a drift towards the limit shows before it fails.
      console.info(`spam score ${verdict.score} ${sample.name}: ${verdict.rules.join(' ')}`);
      expect(verdict.score, verdict.rules.join(' ')).toBeLessThanOrEqual(MAX_SCORE);
    },
    60_000,
  );

  it(`DOWN with a QR code, straight to the MX from a host whose ehlo_name is its reverse DNS: at most ${MAX_SCORE}`, async () => {
    const channel = { ...SAMPLE_CHANNEL, ehloName: 'monitor.example.com' };
    const direct = receivedHeaders(
      { kind: 'direct', ehlo: ehloName(channel), rdns: 'monitor.example.com' },
      at,
    );
    const verdict = await spamScore(direct + (await composeSample(samples[0]!)));
    expect(verdict.score, verdict.rules.join(' ')).toBeLessThanOrEqual(MAX_SCORE);
  }, 60_000);

  it('the scorer can fail: the old DOWN email (bare From, container EHLO, no reverse DNS) is spam', async () => {
    const [down] = samples;
    const old = (await composeSample(down!)).replace(/^From: .*$/m, 'From: alerts@example.com');
    const route = { kind: 'direct', ehlo: '3f2a1b7c9d0e', rdns: null } as const;
    const verdict = await spamScore(receivedHeaders(route, at) + old);
    expect(verdict.score, verdict.rules.join(' ')).toBeGreaterThan(MAX_SCORE);
    expect(verdict.rules.map((r) => r.split('=')[0])).toContain('RDNS_NONE');
  }, 60_000);
});

// Debian's SpamAssassin (the `spamassassin` package) as a scorer: local tests only (`-L`: no DNS
// blocklists, no network), in a throwaway HOME so no user's Bayes database or preferences count.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SPAMASSASSIN_BIN = 'spamassassin';

export function spamassassinAvailable(): boolean {
  try {
    execFileSync(SPAMASSASSIN_BIN, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SpamVerdict {
  readonly score: number;
  /** `NAME=score` for every rule that fired, as SpamAssassin lists them. */
  readonly rules: readonly string[];
}

/**
 * How the message reached the recipient's MX, as the Received headers record it:
 * - `submission`: the usual setup (`smtp:` with user and password on 587): the monitor, in a
 *   container behind NAT with no reverse DNS, hands the mail to the company's relay (ESMTPSA:
 *   authenticated), which delivers it to the MX;
 * - `direct`: the monitor talks to the MX itself from `address`, whose reverse DNS is `rdns`
 *   (null: none, as for a container's address).
 */
export type Route =
  | { readonly kind: 'submission'; readonly ehlo: string }
  | { readonly kind: 'direct'; readonly ehlo: string; readonly rdns: string | null };

const MX_ADDRESS = '93.184.216.34';

export function receivedHeaders(route: Route, at: Date): string {
  const date = (offsetMs: number): string =>
    new Date(at.getTime() + offsetMs).toUTCString().replace('GMT', '+0000 (UTC)');
  const mx = (from: string, ip: string, how: string, id: string, offset: number): string =>
    `Received: from ${from} [${ip}])\r\n\tby mx1.example.net (Postfix) with ${how} id ${id}\r\n` +
    `\tfor <oncall@example.net>; ${date(offset)}\r\n`;
  if (route.kind === 'submission') {
    return (
      mx('smtp.example.com (smtp.example.com', MX_ADDRESS, 'ESMTPS', '4Nk2Qx1vZ7z9sWm', 1_000) +
      mx(`${route.ehlo} (unknown`, '172.18.0.5', 'ESMTPSA', '4Nk2Qw5kLmz1xRt', 0).replace(
        'by mx1.example.net',
        'by smtp.example.com',
      )
    );
  }
  return mx(`${route.ehlo} (${route.rdns ?? 'unknown'}`, '85.214.40.7', 'ESMTPS', '4Nk2Qx1vZ7z9sWm', 0);
}

const home = mkdtempSync(join(tmpdir(), 'wgm-sa-'));

/** Scores one RFC 822 message (`spamassassin -L -t`, its X-Spam-Status header parsed). */
export function spamScore(message: string): Promise<SpamVerdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(SPAMASSASSIN_BIN, ['-L', '-t', '-x'], {
      env: { ...process.env, HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => {
      // Headers are folded: join the continuation lines of X-Spam-Status before reading it.
      const head = out.split(/\r?\n\r?\n/)[0] ?? '';
      const status = /^X-Spam-Status: (.*(?:\r?\n[ \t].*)*)/m
        .exec(head)?.[1]
        ?.replace(/,\s+/g, ',')
        .replace(/\s+/g, ' ');
      const score = status === undefined ? null : /score=(-?[\d.]+)/.exec(status)?.[1];
      if (status === undefined || score == null) {
        reject(new Error(`spamassassin gave no X-Spam-Status (exit ${code}): ${err.slice(0, 500)}`));
        return;
      }
      const tests = /tests=(\S*)/.exec(status)?.[1] ?? '';
      const scores = scoresFromReport(out);
      const rules =
        tests === '' || tests === 'none' ? [] : tests.split(',').map((t) => `${t}=${scores.get(t) ?? '?'}`);
      resolve({ score: Number(score), rules });
    });
    child.stdin.end(message);
  });
}

/** The `-t` report's table (` 0.8 RDNS_NONE  Delivered to …`): each fired rule's points. */
function scoresFromReport(out: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const m of out.matchAll(/^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s/gm)) map.set(m[2]!, m[1]!);
  return map;
}

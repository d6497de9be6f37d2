import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { startMailCatcher, subjectOf, type CaughtMail } from './mail-catcher.js';

describe('the demo mail catcher', () => {
  it('saves what an SMTP client sends as an .eml file and reports its subject', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'wgm-mail-')), 'mail');
    const caught: CaughtMail[] = [];
    const catcher = await startMailCatcher({ dir, port: 0, onMail: (m) => caught.push(m) });
    try {
      expect(catcher.url).toBe(`smtp://127.0.0.1:${catcher.port}`);
      const transport = nodemailer.createTransport(catcher.url);
      await transport.sendMail({
        from: 'monitor@example.com',
        to: ['ops@example.com', 'oncall@example.com'],
        subject: '[whatsgate] DOWN: Vertrieb – Büro (100000001) disconnected',
        text: 'body',
      });
      transport.close();
      expect(caught).toHaveLength(1);
      const mail = caught[0]!;
      expect(mail.subject).toBe('[whatsgate] DOWN: Vertrieb – Büro (100000001) disconnected');
      expect(mail.to).toEqual(['ops@example.com', 'oncall@example.com']);
      expect(mail.file.startsWith(dir)).toBe(true);
      expect(mail.file).toMatch(/\.eml$/);
      expect(readFileSync(mail.file, 'utf8')).toContain('body');
    } finally {
      await catcher.close();
    }
  });

  it.each([
    ['Subject: plain\r\n\r\nbody', 'plain'],
    ['Subject: folded\r\n  line\r\n\r\n', 'folded line'],
    ['Subject: =?UTF-8?Q?B=C3=BCro_A?= =?UTF-8?B?w6Q=?=\n\n', 'Büro Aä'],
    ['From: a\r\n\r\nSubject: in the body', ''],
  ])('subjectOf(%j)', (raw, subject) => {
    expect(subjectOf(raw)).toBe(subject);
  });
});

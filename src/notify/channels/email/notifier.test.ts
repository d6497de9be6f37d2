import { afterEach, describe, expect, it } from 'vitest';
import type { EmailChannelConfig } from '../../../config/types.js';
import { EmailNotifier, smtpTarget, transportOptions } from './notifier.js';
import type { NotificationEvent } from '../../message.js';
import {
  BERLIN,
  deviceNote,
  emailChannel,
  PNG_BASE64,
  QR_DATA_URL,
  T0,
  upEvent,
} from '../../test-support/fixtures.js';
import { startSmtp, type SmtpSink } from '../../test-support/smtp.js';

const never = new AbortController().signal;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function smtp(options: Parameters<typeof startSmtp>[0] = {}): Promise<SmtpSink> {
  const server = await startSmtp(options);
  cleanups.push(() => server.close());
  return server;
}

function notifier(port: number, over: Partial<EmailChannelConfig> = {}): EmailNotifier {
  const n = new EmailNotifier(emailChannel('ops', port, over) as EmailChannelConfig, BERLIN);
  cleanups.push(() => n.close());
  return n;
}

function send(n: EmailNotifier, events: NotificationEvent[], deliveryId = 'dlv-1') {
  return n.send({ deliveryId, events, now: T0 + 5_000 }, never);
}

describe('EmailNotifier against a real SMTP server', () => {
  it('sends subject, text and HTML parts, the QR code inline by cid, the delivery id as Message-ID', async () => {
    const server = await smtp();
    const result = await send(notifier(server.port), [deviceNote({ qrCode: QR_DATA_URL })]);
    expect(result).toEqual({ ok: true });
    const mail = await server.mail(1);
    expect(mail.subject).toBe('[whatsgate] DOWN: Sales phone (123456789) disconnected');
    // A display name when the config gives none; the Message-ID in the sender's own domain.
    expect(mail.from?.text).toBe('"WhatsGate Monitor" <monitor@example.com>');
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('ops@example.com');
    expect(mail.messageId).toBe('<dlv-1@example.com>');
    // Vacation responders and Exchange's out-of-office replies stay quiet (RFC 3834).
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.headers.get('x-auto-response-suppress')).toBe('All');
    expect(mail.headers.get('x-whatsgate-delivery-id')).toBe('dlv-1');
    expect(mail.headers.get('x-whatsgate-event')).toBe('device.down');
    expect(mail.date?.getTime()).toBe(T0 + 5_000);

    expect(mail.text).toContain('disconnected since 2026-11-24 18:29:00 +01:00 (was connected)');
    expect(mail.text).toContain('whatsgate-monitor connect 123456789');
    expect(mail.text).toContain('https://monitor.example.com/reconnect/123456789');

    const html = typeof mail.html === 'string' ? mail.html : '';
    expect(html).toContain('<img src="cid:qr-123456789-0@whatsgate-monitor"');
    expect(mail.attachments).toHaveLength(1);
    const [qr] = mail.attachments;
    expect(qr?.contentType).toBe('image/png');
    expect(qr?.cid).toBe('qr-123456789-0@whatsgate-monitor');
    expect(qr?.contentDisposition).toBe('inline');
    expect(qr?.content.equals(Buffer.from(PNG_BASE64, 'base64'))).toBe(true);
  });

  // nodemailer's own default is os.hostname(): in a container a random id, which SpamAssassin
  // scores (test/email-spam.test.ts). The server records what EHLO said.
  it.each<[string, Partial<EmailChannelConfig>, string]>([
    ['from a bare address', { from: 'alerts@Example.COM' }, 'example.com'],
    ['from a display-name mailbox', { from: 'Ops Alerts <alerts@mail.example.org>' }, 'mail.example.org'],
    ['ehlo_name when set', { ehloName: 'monitor.example.net' }, 'monitor.example.net'],
  ])('EHLO names the domain of from, not the container: %s', async (_name, over, ehlo) => {
    const seen: string[] = [];
    const server = await smtp({
      onMailFrom(_address, session, callback) {
        seen.push(session.hostNameAppearsAs);
        callback();
      },
    });
    expect(await send(notifier(server.port, over), [deviceNote()])).toEqual({ ok: true });
    expect(seen).toEqual([ehlo]);
  });

  it('without a QR code: no attachment', async () => {
    const server = await smtp();
    await send(notifier(server.port), [deviceNote({ event: upEvent() })]);
    const mail = await server.mail(1);
    expect(mail.subject).toBe('[whatsgate] UP: Sales phone (123456789) connected');
    expect(mail.attachments).toEqual([]);
  });

  it('50 devices dropping in one cycle: one email', async () => {
    const server = await smtp();
    const events = Array.from({ length: 50 }, (_, i) =>
      deviceNote({ number: `${100 + i}`, name: `P${100 + i}` }),
    );
    await send(notifier(server.port), events);
    const mail = await server.mail(1);
    expect(mail.subject).toMatch(/^\[whatsgate\] DOWN: 50 devices \(P100, P101, /);
    expect(server.mails).toHaveLength(1);
    expect((mail.text ?? '').match(/^DOWN — /gm)).toHaveLength(50);
  });

  it('logs in with user and password (smtp URL or fields)', async () => {
    const logins: string[] = [];
    const server = await smtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.username === 'mon' && auth.password === 's3cr3t/pw') callback(null, { user: 'mon' });
        else callback(new Error('Invalid username or password'));
      },
    });
    const viaUrl = notifier(server.port, {
      smtp: {
        url: `smtp://mon:${encodeURIComponent('s3cr3t/pw')}@127.0.0.1:${server.port}`,
        host: null,
        port: null,
        secure: false,
        user: null,
        password: null,
      },
    });
    expect(await send(viaUrl, [deviceNote()])).toEqual({ ok: true });
    const viaFields = notifier(server.port, {
      smtp: {
        url: null,
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        user: 'mon',
        password: 's3cr3t/pw',
      },
    });
    expect(await send(viaFields, [deviceNote()])).toEqual({ ok: true });
    expect(logins).toEqual(['mon:s3cr3t/pw', 'mon:s3cr3t/pw']);
  });

  it('a wrong password is refused for good (535), and the error does not show it', async () => {
    const server = await smtp({
      authOptional: false,
      allowInsecureAuth: true,
      onAuth(_auth, _session, callback) {
        callback(new Error('Invalid username or password'));
      },
    });
    const n = notifier(server.port, {
      smtp: {
        url: null,
        host: '127.0.0.1',
        port: server.port,
        secure: false,
        user: 'mon',
        password: 'wrong-pw-77',
      },
    });
    const result = await send(n, [deviceNote()]);
    expect(result).toMatchObject({ ok: false, retryable: false });
    const error = result.ok ? '' : result.error;
    expect(error).toMatch(new RegExp(`^SMTP smtp://127\\.0\\.0\\.1:${server.port}: .*535.*\\(EAUTH\\)$`));
    expect(error).not.toContain('wrong-pw-77');
  });

  it.each([
    [451, true],
    [452, true],
    [550, false],
    [553, false],
  ])('a recipient refused with %i → retryable: %s', async (code, retry) => {
    const server = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error(`${code} mailbox says no`), { responseCode: code }));
      },
    });
    const result = await send(notifier(server.port), [deviceNote()]);
    expect(result).toMatchObject({ ok: false, retryable: retry });
  });

  it('no server → retryable', async () => {
    const server = await smtp();
    const port = server.port;
    await server.close();
    cleanups.pop();
    const result = await send(notifier(port), [deviceNote()]);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).toContain(`SMTP smtp://127.0.0.1:${port}:`);
  });
});

describe('transport settings', () => {
  it.each<[string, Partial<EmailChannelConfig>, string]>([
    ['host and port', {}, 'smtp://127.0.0.1:2525'],
    [
      'secure defaults to port 465',
      { smtp: { url: null, host: 'mail.example.com', port: null, secure: true, user: null, password: null } },
      'smtps://mail.example.com:465',
    ],
    [
      'plain defaults to port 587',
      {
        smtp: { url: null, host: 'mail.example.com', port: null, secure: false, user: null, password: null },
      },
      'smtp://mail.example.com:587',
    ],
    [
      'a URL loses its credentials',
      {
        smtp: {
          url: 'smtp://user:pass@mail.example.com:587',
          host: null,
          port: null,
          secure: false,
          user: null,
          password: null,
        },
      },
      'smtp://mail.example.com:587',
    ],
  ])('%s', (_name, over, target) => {
    const config = emailChannel('ops', 2525, over) as EmailChannelConfig;
    expect(smtpTarget(config)).toBe(target);
    expect(transportOptions(config)).toMatchObject({
      connectionTimeout: 5_000,
      socketTimeout: 5_000,
      name: 'example.com',
    });
  });
});

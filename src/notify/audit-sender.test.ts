import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditMessage } from '../audit/sender.js';
import { FakeClock } from '../test-support/fake-clock.js';
import { DirectAuditSender } from './audit-sender.js';
import { Notifications } from './notifications.js';
import { FakeNotifier } from './test-support/fake-notifier.js';
import {
  alertmanagerChannel,
  captureLogger,
  emailChannel,
  T0,
  testConfig,
  webhookChannel,
} from './test-support/fixtures.js';
import { startReceiver } from './test-support/http-receiver.js';
import { startSmtp } from './test-support/smtp.js';
import { tempDb } from './test-support/store.js';

const message: AuditMessage = {
  report: {} as AuditMessage['report'],
  subject: '[whatsgate] Audit: 2 devices, uptime 99.50 %',
  text: 'WhatsGate device audit\n2 devices\n',
  html: '<h1>WhatsGate device audit</h1>',
  json: { summary: { devices: 2 } } as unknown as AuditMessage['json'],
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('DirectAuditSender (audit --send)', () => {
  it('mails the report as rendered, posts its JSON to webhooks, refuses Alertmanager and unknown channels', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const hook = await startReceiver();
    cleanups.push(() => hook.close());
    const config = testConfig({
      notify: {
        default: [],
        routes: [],
        channels: {
          mail: emailChannel('mail', smtp.port),
          hook: webhookChannel('hook', `${hook.url}/audit`),
          am: alertmanagerChannel('am', ['http://127.0.0.1:9']),
        },
      },
    });
    const deliveries = await new DirectAuditSender(config, { now: () => T0 }).sendAuditReport(message, [
      'mail',
      'hook',
      'am',
      'nope',
    ]);
    expect(deliveries).toEqual([
      { channel: 'mail', outcome: 'sent' },
      { channel: 'hook', outcome: 'sent' },
      { channel: 'am', outcome: 'failed', error: 'Alertmanager channels take alerts, not reports' },
      { channel: 'nope', outcome: 'failed', error: 'channel "nope" is not configured under notify.channels' },
    ]);
    const mail = await smtp.mail(1);
    expect(mail.subject).toBe(message.subject);
    expect(mail.text).toBe(message.text);
    expect(mail.html).toBe(message.html);
    const req = await hook.request(1);
    expect(req.headers['x-whatsgate-event']).toBe('audit.report');
    expect(JSON.parse(req.body)).toMatchObject({
      version: '1',
      events: [{ type: 'audit.report', account: null, device: null, report: { summary: { devices: 2 } } }],
    });
  });

  it('a channel that fails is reported with its error', async () => {
    const hook = await startReceiver(() => ({ status: 503 }));
    cleanups.push(() => hook.close());
    const config = testConfig({
      notify: { default: [], routes: [], channels: { hook: webhookChannel('hook', `${hook.url}/x`) } },
    });
    const [delivery] = await new DirectAuditSender(config).sendAuditReport(message, ['hook']);
    expect(delivery).toMatchObject({ channel: 'hook', outcome: 'failed' });
    expect(delivery?.error).toMatch(/^HTTP 503 from /);
  });
});

describe('Notifications.sendAuditReport (the daemon’s scheduled audit)', () => {
  it('queues one message per channel in the outbox, then delivers it', async () => {
    const db = tempDb();
    cleanups.push(() => db.dispose());
    const fakes: FakeNotifier[] = [];
    const n = new Notifications({
      outbox: db.outbox,
      config: testConfig({
        notify: {
          default: [],
          routes: [],
          channels: { ops: webhookChannel('ops', 'http://x'), am: alertmanagerChannel('am', ['http://y']) },
        },
      }),
      clock: new FakeClock(T0),
      log: captureLogger().log,
      createNotifier: (c) => {
        const f = new FakeNotifier(c.name, [{ ok: true }], c.type);
        fakes.push(f);
        return f;
      },
    });
    cleanups.push(() => n.stop());
    expect(await n.sendAuditReport(message, ['ops', 'am'])).toEqual([
      { channel: 'ops', outcome: 'queued' },
      { channel: 'am', outcome: 'failed', error: 'Alertmanager channels take alerts, not reports' },
    ]);
    // Counted by the wake the queueing made (a read of its own, for the metrics).
    await vi.waitFor(() => expect(n.pending()).toEqual([{ channel: 'ops', pending: 1 }]));
    n.start();
    await vi.waitFor(() => expect(n.pending()).toEqual([]));
    const [event] = fakes.find((f) => f.channel === 'ops')?.attempts[0]?.message.events ?? [];
    expect(event).toMatchObject({ kind: 'audit', subject: message.subject, at: T0 });
  });
});

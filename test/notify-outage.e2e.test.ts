import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ParsedMail } from 'mailparser';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { Simulator } from '../src/simulator/server.js';
import type { startReceiver } from '../src/notify/test-support/http-receiver.js';
import { type Received, type Receiver } from '../src/notify/test-support/http-receiver.js';
import { startSmtp, type SmtpSink } from '../src/notify/test-support/smtp.js';
import { writeMonitorConfig } from './support/monitor-config.js';
import { testScope } from './support/scope.js';
import type { DaemonProcess } from './support/daemon.js';
import { type LogLine } from './support/daemon.js';
import { freePort } from './support/ports.js';

// The notification path of the real daemon process against the simulator, when receivers fail:
// an SMTP server down across a kill -9, a webhook answering 500 then 200, a webhook refusing for
// good, fifty devices dropping at once under the budget (grouped), and a graceful restart while
// a device is DOWN. Tests not about grouping set group_wait/group_interval to 0s.
// Every wait is on something that happens (a log line, a message received); "nothing else came"
// is proven by a later message on the same channel, which a channel delivers strictly in order.

const TOKEN = 'outage-token';
const ENV = { WG_TOKEN: TOKEN };

interface Outbox {
  delivery_id: string;
  channel: string;
  state: string;
  attempts: number;
  last_error: string | null;
}

interface WebhookBody {
  version: string;
  sent_at: string;
  events: {
    id: string;
    type: string;
    device: { number: string; name: string };
    status: string;
    previous_status: string | null;
  }[];
}

const scope = testScope();

const scratchDir = (): string => scope.dir('wgm-outage-');

const simulator = (first: string, devices: number): Promise<Simulator> =>
  scope.simulator({ devices, first, token: TOKEN, rateLimitPerMinute: 0 });

const receiver = (respond: Parameters<typeof startReceiver>[0]): Promise<Receiver> => scope.receiver(respond);

const startDaemon = (configPath: string): DaemonProcess => scope.daemon(configPath, ENV);

/** An SMTP server on a port fixed in advance (the daemon's config names it before it runs). */
async function smtpOn(port: number): Promise<SmtpSink> {
  const sink = await startSmtp({}, port);
  scope.defer(() => sink.close());
  return sink;
}

async function smtp(): Promise<SmtpSink> {
  const sink = await startSmtp();
  scope.defer(() => sink.close());
  return sink;
}

/** `promise`, or a clear failure after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface ConfigOptions {
  readonly dir: string;
  readonly sim: Simulator;
  readonly devices: readonly { number: string; name: string }[];
  /** YAML of `notify.channels`, each entry on its own line, indented by four spaces. */
  readonly channels: string;
  readonly defaultChannels: readonly string[];
  readonly schedule?: string;
  readonly interval?: string;
  readonly concurrency?: number;
  readonly rateLimit?: string;
  /** `notify.group_wait`/`group_interval`; 0s each (no grouping delay) unless a test is about grouping. */
  readonly groupWait?: string;
  readonly groupInterval?: string;
}

function config(o: ConfigOptions): string {
  return writeMonitorConfig(o.dir, {
    stateDir: join(o.dir, 'state'),
    baseUrl: o.sim.baseUrl,
    ...(o.schedule === undefined ? {} : { schedule: o.schedule }),
    ...(o.interval === undefined ? {} : { interval: o.interval }),
    rateLimit: o.rateLimit ?? '6000/min',
    concurrency: o.concurrency ?? 4,
    devices: o.devices.map((d) => `{ number: "${d.number}", name: ${d.name} }`),
    rest: `notify:
  group_wait: ${o.groupWait ?? '0s'}
  group_interval: ${o.groupInterval ?? '0s'}
  default: [${o.defaultChannels.join(', ')}]
  channels:
${o.channels}
`,
  });
}

const webhookChannel = (name: string, url: string, secret?: string): string =>
  `    ${name}: { type: webhook, url: "${url}"${secret === undefined ? '' : `, secret: "${secret}"`}, timeout: 5s }`;
const emailChannel = (name: string, port: number): string =>
  `    ${name}: { type: email, host: 127.0.0.1, port: ${port}, secure: false, from: monitor@example.com, to: ops@example.com, timeout: 5s }`;

const checked = (device: string) => (l: LogLine) => l.msg === 'checked' && l['device'] === device;
const isDeviceEvent = (type: string, device: string) => (l: LogLine) =>
  l.msg === type && l['component'] === 'poller' && l['device'] === device;

function outboxRows(dbFile: string): Outbox[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('SELECT delivery_id, channel, state, attempts, last_error FROM outbox ORDER BY id')
      .all() as Outbox[];
  } finally {
    db.close();
  }
}

function body(req: Received): WebhookBody {
  return JSON.parse(req.body) as WebhookBody;
}

function header(req: Received, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function stringHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The worker logs a delivery once it is recorded: a receiver sees the message before that. */
const sent = (deliveryId: string | undefined) => (l: LogLine) =>
  l.msg === 'notification sent' && deliveryId !== undefined && l['delivery_id'] === deliveryId;

function deliveryIdOf(mail: ParsedMail): string | undefined {
  const value = mail.headers.get('x-whatsgate-delivery-id');
  return typeof value === 'string' ? value : undefined;
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('notifications end to end through outages', () => {
  it('queues a DOWN while SMTP is down, keeps it across kill -9, and mails it exactly once', async () => {
    const sim = await simulator('491600000', 2);
    const target = '491600001';
    const dir = scratchDir();
    const smtpPort = await freePort();
    const configPath = config({
      dir,
      sim,
      devices: [
        { number: '491600000', name: 'First phone' },
        { number: target, name: 'Sales phone' },
      ],
      channels: emailChannel('ops', smtpPort),
      defaultChannels: ['ops'],
    });

    const first = startDaemon(configPath);
    await first.waitFor(checked(target), 'a first check while connected');
    sim.setStatus(target, 'disconnected');
    await first.waitFor(isDeviceEvent('device.down', target), 'device.down');
    const failed = await first.waitFor(
      (l) => l.msg === 'notification failed; will retry' && l['channel'] === 'ops',
      'the failed attempt while SMTP is down',
    );
    expect(failed['retry_in_ms']).toBe(10_000);
    // The message is in the database, not just in memory, before the process dies.
    const dbFile = join(dir, 'state', 'monitor.db');
    const queued = outboxRows(dbFile);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ channel: 'ops', state: 'pending', attempts: 1 });
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const server = await smtpOn(smtpPort);
    const second = startDaemon(configPath);
    const mail = await within(server.mail(1), 25_000, 'the DOWN email after the restart');
    expect(mail.subject).toBe(`[whatsgate] DOWN: Sales phone (${target}) disconnected`);
    expect(mail.text).toContain('Sales phone');
    expect(mail.text).toContain(target);
    expect(typeof mail.html).toBe('string');
    expect(mail.html).toContain('Sales phone');
    expect(mail.html).toContain(target);
    expect(mail.headers.get('x-whatsgate-event')).toBe('device.down');
    expect(deliveryIdOf(mail)).toBe(queued[0]!.delivery_id);
    // The delivery id, in the sender's own domain (from: monitor@example.com).
    expect(mail.messageId).toBe(`<${queued[0]!.delivery_id}@example.com>`);
    await second.waitFor(
      (l) => l.msg === 'notification sent' && l['delivery_id'] === queued[0]!.delivery_id,
      'the delivery logged',
    );
    // The restarted daemon made no second decision about the same drop.
    expect(second.lines.filter(isDeviceEvent('device.down', target))).toHaveLength(0);

    // A later message on the same channel: anything still pending before it (a duplicate) would
    // have gone out first.
    sim.setStatus(target, 'connected');
    const up = await within(server.mail(2), 20_000, 'the UP email');
    expect(up.subject).toMatch(/^\[whatsgate\] UP: Sales phone \(491600001\)/);
    await second.waitFor(sent(deliveryIdOf(up)), 'the UP recorded');
    expect(server.mails.map((m) => m.subject)).toEqual([mail.subject, up.subject]);
    const rows = outboxRows(dbFile);
    expect(rows.map((r) => [r.state, r.attempts])).toEqual([
      ['sent', 2],
      ['sent', 1],
    ]);
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });

  it('retries a webhook answered 500 with the same webhook-id and a valid signature, then stops', async () => {
    const sim = await simulator('491610000', 2);
    const target = '491610001';
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const hook = await receiver((_req, i) =>
      i === 0 ? { status: 500, body: 'try later' } : { status: 200 },
    );
    const dir = scratchDir();
    const configPath = config({
      dir,
      sim,
      devices: [
        { number: '491610000', name: 'First phone' },
        { number: target, name: 'Sales phone' },
      ],
      channels: webhookChannel('hook', `${hook.url}/wg`, secret),
      defaultChannels: ['hook'],
    });

    const p = startDaemon(configPath);
    await p.waitFor(checked(target), 'a first check while connected');
    sim.setStatus(target, 'disconnected');
    const failed = await p.waitFor(
      (l) => l.msg === 'notification failed; will retry' && l['channel'] === 'hook',
      'the failed first attempt',
    );
    expect(failed['retry_in_ms']).toBe(10_000);
    expect(String(failed['err'])).toContain('500');
    const retried = await within(hook.request(2), 20_000, 'the retry');
    const attempt = hook.requests[0]!;

    for (const req of [attempt, retried]) {
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/wg');
      expect(header(req, 'x-whatsgate-event')).toBe('device.down');
      // Standard Webhooks 1.0: the off-the-shelf verifier accepts it (throws otherwise).
      expect(() => new Webhook(secret).verify(req.body, stringHeaders(req.headers))).not.toThrow();
      const payload = body(req);
      expect(payload.version).toBe('1');
      expect(payload.events).toHaveLength(1);
      expect(payload.events[0]).toMatchObject({
        type: 'device.down',
        device: { number: target, name: 'Sales phone' },
        status: 'disconnected',
        previous_status: 'connected',
      });
    }
    expect(header(retried, 'webhook-id')).toBeDefined();
    expect(header(retried, 'webhook-id')).toBe(header(attempt, 'webhook-id'));
    expect(body(retried).events[0]!.id).toBe(body(attempt).events[0]!.id);
    await p.waitFor(
      (l) => l.msg === 'notification sent' && l['channel'] === 'hook' && l['attempts'] === 2,
      'the delivery logged',
    );

    // Delivered once: the next message on the channel is the recovery, with a new id.
    sim.setStatus(target, 'connected');
    const up = await within(hook.request(3), 20_000, 'the UP webhook');
    expect(body(up).events.map((e) => e.type)).toEqual(['device.up']);
    expect(header(up, 'webhook-id')).not.toBe(header(attempt, 'webhook-id'));
    await p.waitFor(sent(header(up, 'webhook-id')), 'the UP recorded');
    expect(hook.requests).toHaveLength(3);
    const metrics = await (await fetch(`${await p.url()}/metrics`)).text();
    expect(metricValue(metrics, 'whatsgate_notifications_total{channel="hook"}')).toBe(3);
    expect(metricValue(metrics, 'whatsgate_notification_failures_total{channel="hook"}')).toBe(1);
    expect(metricValue(metrics, 'whatsgate_notifications_dropped_total{channel="hook"}')).toBe(0);
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('does not retry a webhook answered 400: one attempt, logged and counted as dropped', async () => {
    const sim = await simulator('491620000', 2);
    const target = '491620001';
    const hook = await receiver((_req, i) =>
      i === 0 ? { status: 400, body: '{"error":"unknown schema"}' } : { status: 200 },
    );
    const dir = scratchDir();
    const configPath = config({
      dir,
      sim,
      devices: [
        { number: '491620000', name: 'First phone' },
        { number: target, name: 'Sales phone' },
      ],
      channels: webhookChannel('hook', hook.url),
      defaultChannels: ['hook'],
    });

    const p = startDaemon(configPath);
    const url = await p.url();
    await p.waitFor(checked(target), 'a first check while connected');
    sim.setStatus(target, 'disconnected');
    const dropped = await p.waitFor(
      (l) => l.msg === 'notification dropped: refused for good' && l['channel'] === 'hook',
      'the refusal logged',
    );
    expect(dropped['level']).toBe('error');
    expect(dropped['attempts']).toBe(1);
    expect(String(dropped['err'])).toContain('400');
    expect(p.lines.some((l) => l.msg === 'notification failed; will retry')).toBe(false);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(metrics, 'whatsgate_notifications_dropped_total{channel="hook"}')).toBe(1);
    expect(metricValue(metrics, 'whatsgate_notification_failures_total{channel="hook"}')).toBe(1);
    expect(metricValue(metrics, 'whatsgate_notifications_total{channel="hook"}')).toBe(1);
    expect(metricValue(metrics, 'whatsgate_notifications_pending{channel="hook"}')).toBe(0);

    // The channel goes on: the recovery is the second request, so the refused one was never retried.
    sim.setStatus(target, 'connected');
    const up = await within(hook.request(2), 20_000, 'the UP webhook');
    expect(body(up).events.map((e) => e.type)).toEqual(['device.up']);
    expect(body(hook.requests[0]!).events.map((e) => e.type)).toEqual(['device.down']);
    await p.waitFor(sent(header(up, 'webhook-id')), 'the UP recorded');
    expect(hook.requests).toHaveLength(2);
    const rows = outboxRows(join(dir, 'state', 'monitor.db'));
    expect(rows.map((r) => [r.state, r.attempts])).toEqual([
      ['dropped', 1],
      ['sent', 1],
    ]);
    expect(rows[0]!.last_error).toContain('400');
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(metricValue(after, 'whatsgate_notifications_dropped_total{channel="hook"}')).toBe(1);
    expect(metricValue(after, 'whatsgate_notifications_total{channel="hook"}')).toBe(2);
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('50 devices dropping at once under a 30/min budget: at most 2 messages per channel, naming all 50', async () => {
    // Issue 12: under the budget the drops are discovered one check at a time (a quarter of the
    // 30/min is kept for QR codes and other calls: one check every ~2.6 s, ~130 s for 50 devices). Grouping makes that two messages per channel:
    // the first group_wait after the first drop ("N of 50 … down so far"), the rest once
    // group_interval has passed. group_interval is set above the discovery time of the fleet.
    const COUNT = 50;
    const FIRST = 491630000;
    const GROUP_WAIT_S = 5;
    const numbers = Array.from({ length: COUNT }, (_, i) => String(FIRST + i));
    const sim = await simulator(numbers[0]!, COUNT);
    const mail = await smtp();
    const hook = await receiver(() => ({ status: 200 }));
    const dir = scratchDir();
    const configPath = config({
      dir,
      sim,
      devices: numbers.map((n, i) => ({ number: n, name: `Phone ${i + 1}` })),
      channels: [emailChannel('ops', mail.port), webhookChannel('hook', hook.url)].join('\n'),
      defaultChannels: ['ops', 'hook'],
      interval: '1s',
      rateLimit: '30/min',
      groupWait: `${GROUP_WAIT_S}s`,
      groupInterval: '150s',
    });

    const p = startDaemon(configPath);
    // One device seen connected: then the whole account drops (a gateway restart).
    await p.waitFor(checked(numbers[0]!), 'a first check while connected');
    const droppedAt = Date.now();
    await Promise.all(
      numbers.map(async (n) => {
        const res = await fetch(`${sim.controlUrl}/devices/${n}/status`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: 'disconnected' }),
        });
        expect(res.status).toBe(200);
      }),
    );

    // The first message: within group_wait of the first decided drop, which comes at the next
    // check (≤ 2 s spacing, failure_threshold 1), plus slack for a loaded machine.
    const firstPost = await within(hook.request(1), 30_000, 'the first grouped webhook');
    const firstMail = await within(mail.mail(1), 30_000, 'the first grouped email');
    expect(Date.now() - droppedAt).toBeLessThan((GROUP_WAIT_S + 2 + 8) * 1000);
    const firstEvents = body(firstPost).events;
    const soFar = firstEvents.length;
    expect(soFar).toBeGreaterThan(0);
    expect(soFar).toBeLessThan(COUNT);
    expect(firstEvents.every((e) => e.type === 'device.down')).toBe(true);
    const summary = (JSON.parse(firstPost.body) as { summary: { headline: string; outages: unknown[] } })
      .summary;
    expect(summary.outages).toEqual([
      expect.objectContaining({
        account: 'main',
        devices_total: COUNT,
        devices_down: expect.any(Number) as unknown,
      }),
    ]);
    expect(firstMail.text).toMatch(/\b\d+ of 50 devices of account main down so far\b/);
    expect(firstMail.html).toMatch(/\d+ of 50 devices of account main down so far/);
    expect(firstMail.subject).toMatch(
      /^\[whatsgate\] DOWN: (\d+ devices \(Phone \d+|Phone \d+ \(\d+\) disconnected)/,
    );

    // The second: everything found since, together, once group_interval has passed.
    const secondPost = await within(hook.request(2), 185_000, 'the second grouped webhook');
    const secondMail = await within(mail.mail(2), 30_000, 'the second grouped email');
    const all = [...firstEvents, ...body(secondPost).events];
    expect(all).toHaveLength(COUNT);
    expect(new Set(all.map((e) => e.device.number))).toEqual(new Set(numbers));
    expect(all.every((e) => e.type === 'device.down' && e.status === 'disconnected')).toBe(true);
    expect(secondMail.subject).toMatch(
      new RegExp(
        `^\\[whatsgate\\] DOWN: ${COUNT - soFar} devices \\(Phone \\d+, .*\\) — 50 of 50 of account main$`,
      ),
    );
    expect(secondMail.text).toContain('50 of 50 devices of account main down so far.');
    expect(secondMail.text).toContain('likely on the gateway’s side');
    for (const n of numbers) expect(`${firstMail.text}${secondMail.text}`).toContain(n);
    await p.waitFor(sent(header(secondPost, 'webhook-id')), 'the second webhook recorded');
    await p.waitFor(sent(deliveryIdOf(secondMail)), 'the second email recorded');
    // Nothing else is held or queued: no third message is coming.
    const rows = outboxRows(join(dir, 'state', 'monitor.db'));
    expect(rows.filter((r) => r.state !== 'sent')).toEqual([]);
    expect(rows.map((r) => r.channel).sort()).toEqual(['hook', 'hook', 'ops', 'ops']);
    expect(hook.requests).toHaveLength(2);
    expect(mail.mails).toHaveLength(2);
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }, 240_000);

  it('sends no second device.down after a graceful restart while the device is still DOWN', async () => {
    const sim = await simulator('491640000', 2);
    const target = '491640001';
    const hook = await receiver(() => ({ status: 200 }));
    const dir = scratchDir();
    const configPath = config({
      dir,
      sim,
      devices: [
        { number: '491640000', name: 'First phone' },
        { number: target, name: 'Sales phone' },
      ],
      channels: webhookChannel('hook', hook.url),
      defaultChannels: ['hook'],
    });

    const first = startDaemon(configPath);
    await first.waitFor(checked(target), 'a first check while connected');
    sim.setStatus(target, 'disconnected');
    const down = await within(hook.request(1), 20_000, 'the DOWN webhook');
    expect(body(down).events.map((e) => [e.type, e.device.number])).toEqual([['device.down', target]]);
    await first.waitFor((l) => l.msg === 'notification sent', 'the delivery recorded');
    first.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = startDaemon(configPath);
    await second.waitFor((l) => l.msg === 'first poll cycle finished: ready', 'readiness after restart');
    // The device is seen DOWN again several times by the new process.
    for (let i = 0; i < 3; i++) {
      await second.waitFor(
        checked(target),
        `check ${i + 1} after restart`,
        10_000,
        second.lines.findLastIndex(checked(target)) + 1,
      );
    }
    expect(second.lines.filter(isDeviceEvent('device.down', target))).toHaveLength(0);

    sim.setStatus(target, 'connected');
    const up = await within(hook.request(2), 20_000, 'the UP webhook');
    expect(body(up).events.map((e) => [e.type, e.status, e.previous_status])).toEqual([
      ['device.up', 'connected', 'disconnected'],
    ]);
    expect(hook.requests.flatMap((r) => body(r).events.map((e) => e.type))).toEqual([
      'device.down',
      'device.up',
    ]);
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});

// The behaviour every channel's notifier must show, against a real local receiver (model:
// store/test-support/store-contract.ts). Each channel's test file calls describeNotifierContract
// with the receiver kit its protocol needs (HTTP_RECEIVER or SMTP_RECEIVER) and a function that
// builds the channel against that receiver, with every kind of secret configured.
//
// Outcomes (the Alertmanager classification, one retry loop decides what to do with them):
// accepted → {ok:true}; unavailable (HTTP 5xx, SMTP 4yz), rate limited (HTTP 429 + Retry-After)
// and no listener → retryable; refused (HTTP 400/404, SMTP 5yz, SMTP AUTH 535) → permanent. No
// configured secret appears in an error, the outbox or a log line, in any form a leak can take
// (src/test-support/no-secret-leaks.ts: plain, URL-encoded, JSON, hex, base64 even inside a blob)
// — also when the receiver's refusal echoes everything it was sent.

import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test-support/fake-clock.js';
import { expectNoSecretLeaks, type Secrets } from '../../test-support/no-secret-leaks.js';
import { PAYLOAD_VERSION } from '../message.js';
import type { Notifier, OutgoingMessage, SendResult } from '../notifier.js';
import { OutboxWorker } from '../outbox-worker.js';
import { captureLogger, deviceNote, T0 } from './fixtures.js';
import { startReceiver } from './http-receiver.js';
import { startSmtp } from './smtp.js';
import { tempDb } from './store.js';

/** What the receiver does with every request. `echo`: its refusal repeats everything it was sent. */
export type Answer =
  | { readonly kind: 'accept' }
  | { readonly kind: 'unavailable'; readonly echo?: boolean }
  | { readonly kind: 'rate_limited'; readonly retryAfterSeconds: number }
  | { readonly kind: 'refuse'; readonly echo?: boolean };

/** Where the channel under test must send to. */
export interface Target {
  /** `http://127.0.0.1:PORT` (HTTP receivers). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

export interface RunningReceiver {
  readonly target: Target;
  /** Requests (or mails, or refused attempts) that reached it. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** A protocol's local receiver, scripted by Answer and by a protocol status/reply code. */
export interface ReceiverKit {
  readonly protocol: string;
  /** The codes tried for each answer, e.g. HTTP 500, 502, 503 for `unavailable`. */
  readonly codes: { readonly [K in Answer['kind']]: readonly number[] };
  /** Whether the protocol can ask for a pause (HTTP Retry-After; SMTP cannot). */
  readonly retryAfter: boolean;
  start(answer: Answer, code: number): Promise<RunningReceiver>;
}

export interface ChannelUnderTest {
  readonly notifier: Notifier;
  /**
   * Every secret configured (by key path, or a bare list), at least 6 characters each: the
   * credentials and the capability parts of the URL (a path segment, a query value).
   */
  readonly secrets: Secrets;
}

export interface NotifierContract {
  /** The channel type, for titles. */
  readonly type: string;
  readonly receiver: ReceiverKit;
  build(target: Target): ChannelUnderTest;
}

const never = new AbortController().signal;

function message(deliveryId = 'contract-1'): OutgoingMessage {
  return { deliveryId, events: [deviceNote()], now: Date.now() };
}

/** Fails naming the secret (never its value) and where it leaked. */
export function expectNoSecret(text: string, secrets: Secrets, where: string): void {
  expectNoSecretLeaks(secrets, [{ name: where, content: text }]);
}

function failure(result: SendResult): Extract<SendResult, { ok: false }> {
  expect(result.ok, 'expected a failed attempt').toBe(false);
  return result as Extract<SendResult, { ok: false }>;
}

export function describeNotifierContract(contract: NotifierContract): void {
  const kit = contract.receiver;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function receiver(answer: Answer, code: number): Promise<RunningReceiver> {
    const r = await kit.start(answer, code);
    cleanups.push(() => r.close());
    return r;
  }

  function channel(target: Target): ChannelUnderTest {
    const c = contract.build(target);
    cleanups.push(() => c.notifier.close());
    return c;
  }

  async function attempt(answer: Answer, code: number): Promise<{ result: SendResult; c: ChannelUnderTest }> {
    const r = await receiver(answer, code);
    const c = channel(r.target);
    const result = await c.notifier.send(message(), never);
    expect(r.received(), `the ${kit.protocol} receiver was reached`).toBeGreaterThan(0);
    return { result, c };
  }

  describe(`notifier contract: ${contract.type} (${kit.protocol})`, () => {
    it.each(kit.codes.accept)(`${kit.protocol} %i → ok`, async (code) => {
      const { result } = await attempt({ kind: 'accept' }, code);
      expect(result).toEqual({ ok: true });
    });

    it.each(kit.codes.unavailable)(`${kit.protocol} %i → retryable`, async (code) => {
      const { result, c } = await attempt({ kind: 'unavailable' }, code);
      expect(failure(result).retryable).toBe(true);
      expectNoSecret(failure(result).error, c.secrets, 'the error');
    });

    it.runIf(kit.retryAfter).each(kit.codes.rate_limited)(
      `${kit.protocol} %i with Retry-After: 7 → retryable after 7 s`,
      async (code) => {
        const { result } = await attempt({ kind: 'rate_limited', retryAfterSeconds: 7 }, code);
        expect(result).toMatchObject({ ok: false, retryable: true, retryAfterMs: 7_000 });
      },
    );

    it.each(kit.codes.refuse)(`${kit.protocol} %i → permanent`, async (code) => {
      const { result, c } = await attempt({ kind: 'refuse' }, code);
      expect(failure(result).retryable).toBe(false);
      expectNoSecret(failure(result).error, c.secrets, 'the error');
    });

    it('no listener (connection refused) → retryable', async () => {
      const r = await kit.start({ kind: 'accept' }, kit.codes.accept[0] ?? 0);
      const target = r.target;
      await r.close();
      const c = channel(target);
      const result = failure(await c.notifier.send(message(), never));
      expect(result.retryable).toBe(true);
      expectNoSecret(result.error, c.secrets, 'the error');
    });

    it.each<[string, number, Answer]>([
      ['unavailable', kit.codes.unavailable[0] ?? 0, { kind: 'unavailable', echo: true }],
      ...kit.codes.refuse.map((code): [string, number, Answer] => [
        'refused',
        code,
        { kind: 'refuse', echo: true },
      ]),
    ])(
      'no secret in the error, the outbox or a log line when a receiver echoing the request answers %s (%i)',
      async (_name, code, answer) => {
        const r = await receiver(answer, code);
        const c = channel(r.target);
        expect(Object.keys(c.secrets).length, 'the channel is configured with secrets').toBeGreaterThan(0);
        const db = tempDb();
        cleanups.push(() => db.dispose());
        const { log, lines } = captureLogger();
        const worker = new OutboxWorker({
          store: db.outbox,
          clock: new FakeClock(T0),
          log,
          notifiers: new Map([[c.notifier.channel, c.notifier]]),
        });
        await db.outbox.enqueue([
          {
            deliveryId: 'contract-echo',
            channel: c.notifier.channel,
            payload: { version: PAYLOAD_VERSION, events: [deviceNote()] },
            createdAt: T0,
          },
        ]);
        await worker.deliverDue();
        expect(r.received()).toBeGreaterThan(0);
        const stored = await db.outbox.find('contract-echo');
        expect(stored?.lastError ?? '').not.toBe('');
        expect(lines.length).toBeGreaterThan(0);
        expectNoSecretLeaks(c.secrets, [
          { name: 'outbox.last_error', content: stored?.lastError ?? '' },
          { name: 'the log', content: lines.join('\n') },
        ]);
      },
    );
  });
}

// --- receiver kits -----------------------------------------------------------------------------

/** A real HTTP server on 127.0.0.1 answering with the status code. */
export const HTTP_RECEIVER: ReceiverKit = {
  protocol: 'HTTP',
  codes: { accept: [200, 202], unavailable: [500, 502, 503], rate_limited: [429], refuse: [400, 404] },
  retryAfter: true,
  async start(answer, code) {
    const r = await startReceiver((req) => {
      switch (answer.kind) {
        case 'accept':
          return { status: code };
        case 'rate_limited':
          return { status: code, headers: { 'retry-after': String(answer.retryAfterSeconds) } };
        case 'unavailable':
        case 'refuse':
          return {
            status: code,
            body:
              answer.echo === true
                ? `${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body}`
                : 'no thanks',
          };
      }
    });
    const { hostname, port } = new URL(r.url);
    return {
      target: { url: r.url, host: hostname, port: Number(port) },
      received: () => r.requests.length,
      close: () => r.close(),
    };
  },
};

/** What a client's AUTH sent, as a server echoing it would repeat it (PLAIN and LOGIN lines). */
function authEcho(user: string, password: string): string {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return `${user}:${password} PLAIN ${b64(`\0${user}\0${password}`)} LOGIN ${b64(user)} ${b64(password)}`;
}

/**
 * A real SMTP server on 127.0.0.1 that takes any login and answers the recipient with the reply
 * code: 4yz transient, 5yz permanent; 535 refuses the login itself. Echoing, its refusal repeats
 * the login it was given, plain and as the AUTH PLAIN / LOGIN lines carried it (base64), as
 * `535 5.7.8 Authentication failed: AHVzZXIAcGFzcw==` does in the wild.
 */
export const SMTP_RECEIVER: ReceiverKit = {
  protocol: 'SMTP',
  codes: { accept: [250], unavailable: [421, 451, 452], rate_limited: [], refuse: [550, 553, 535] },
  retryAfter: false,
  async start(answer, code) {
    let attempts = 0;
    const echo = answer.kind !== 'rate_limited' && answer.kind !== 'accept' && answer.echo === true;
    const server = await startSmtp({
      authOptional: true,
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        const login = authEcho(auth.username ?? '', auth.password ?? '');
        if (code === 535 && answer.kind !== 'accept') {
          attempts++;
          const said = echo ? `: ${login}` : '';
          callback(Object.assign(new Error(`5.7.8 Authentication failed${said}`), { responseCode: 535 }));
          return;
        }
        callback(null, { user: login });
      },
      onRcptTo(address, session, callback) {
        attempts++;
        if (answer.kind === 'accept') {
          callback();
          return;
        }
        const said = echo ? ` (${String(session.user)})` : '';
        callback(
          Object.assign(new Error(`${code} ${address.address} not now${said}`), { responseCode: code }),
        );
      },
    });
    return {
      target: { url: `smtp://127.0.0.1:${server.port}`, host: '127.0.0.1', port: server.port },
      received: () => attempts,
      close: () => server.close(),
    };
  },
};

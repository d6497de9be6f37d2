// Events, alerts and configs for the notification tests: each test states only what it changes.

import type { ChannelConfig, Config, Policy } from '../../config/types.js';
import { DEFAULT_POLICY } from '../../config/defaults.js';
import { createLogger, type Logger } from '../../log.js';
import type { AccountEvent } from '../../monitor/account-state.js';
import type { DeliveryEvent } from '../../monitor/delivery.js';
import type { DeviceEvent } from '../../monitor/device-state.js';
import type { AccountAlert, DeviceAlert } from '../events.js';
import type { AccountNotification, AccountOutage, DeviceNotification, RenderContext } from '../message.js';

/** 2026-11-24 17:30:00 UTC = 18:30 in Berlin. */
export const T0 = Date.UTC(2026, 10, 24, 17, 30, 0);
export const MIN = 60_000;

export const UTC: RenderContext = { timeZone: 'UTC', publicUrl: null };
export const BERLIN: RenderContext = { timeZone: 'Europe/Berlin', publicUrl: 'https://monitor.example.com' };

/** A tiny valid PNG (1×1), as the gateway's `/connect` returns it. */
export const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
export const QR_DATA_URL = `data:image/png;base64,${PNG_BASE64}`;

/** Overrides of a DeviceEvent; `downSince: undefined` removes it (an event while UP). */
export type DeviceEventOver = { [K in keyof DeviceEvent]?: DeviceEvent[K] | undefined };

export function deviceEvent(over: DeviceEventOver = {}): DeviceEvent {
  const { downSince, ...rest } = {
    type: 'device.down' as const,
    at: T0,
    status: 'disconnected' as const,
    previousStatus: 'connected' as const,
    since: T0 - MIN,
    downSince: T0 - MIN,
    ...over,
  };
  const event = rest as Omit<DeviceEvent, 'downSince'>;
  return downSince === undefined ? event : { ...event, downSince };
}

export function upEvent(over: DeviceEventOver = {}): DeviceEvent {
  return deviceEvent({
    type: 'device.up',
    at: T0 + 30 * MIN,
    status: 'connected',
    previousStatus: 'disconnected',
    since: T0 + 30 * MIN,
    downSince: T0 - MIN,
    ...over,
  });
}

export function accountEvent(over: Partial<AccountEvent> = {}): AccountEvent {
  return {
    type: 'account.unreachable',
    at: T0,
    reason: 'unauthorized',
    message: 'the gateway rejected the access token (HTTP 401/403)',
    since: T0 - 2 * MIN,
    ...over,
  };
}

export interface DeviceOver {
  readonly id?: string;
  readonly account?: string;
  readonly number?: string;
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly event?: DeviceEventOver;
  readonly qrCode?: string | null;
  /** The mass-outage counts a grouping release attaches to a device.down. */
  readonly outage?: AccountOutage;
}

export function deviceNote(over: DeviceOver = {}): DeviceNotification {
  const number = over.number ?? '123456789';
  return {
    id: over.id ?? `ev-${number}`,
    kind: 'device',
    account: over.account ?? 'main',
    device: { number, name: over.name ?? 'Sales phone', labels: over.labels ?? {} },
    event: deviceEvent(over.event),
    qrCode: over.qrCode ?? null,
    ...(over.outage === undefined ? {} : { outage: over.outage }),
  };
}

/** A delivery event (SPEC §10): device.stalled with today's counts, unless overridden. */
export function deliveryEvent(over: Partial<DeliveryEvent> = {}): DeliveryEvent {
  return {
    type: 'device.stalled',
    at: T0,
    problem: 'stalled',
    since: T0 - 60 * MIN,
    reading: { at: T0, remaining: 1000, successful: 500, pending: 50, failed: 10 },
    ...over,
  };
}

export function deliveryNote(
  over: Omit<DeviceOver, 'event'> & { event?: Partial<DeliveryEvent> } = {},
): DeviceNotification {
  return { ...deviceNote({ ...over, event: {} }), event: deliveryEvent(over.event) };
}

export function accountNote(
  over: { id?: string; account?: string; event?: Partial<AccountEvent> } = {},
): AccountNotification {
  return {
    id: over.id ?? `ev-account-${over.account ?? 'main'}`,
    kind: 'account',
    account: over.account ?? 'main',
    event: accountEvent(over.event),
  };
}

export function deviceAlert(over: DeviceOver & { channels?: readonly string[] | null } = {}): DeviceAlert {
  const base: DeviceAlert = {
    kind: 'device',
    account: over.account ?? 'main',
    device: {
      number: over.number ?? '123456789',
      name: over.name ?? 'Sales phone',
      labels: over.labels ?? {},
    },
    channels: over.channels ?? null,
    event: deviceEvent(over.event),
  };
  return over.qrCode === undefined || over.qrCode === null
    ? base
    : { ...base, qrCode: { dataUrl: over.qrCode } };
}

export function accountAlert(over: { account?: string; event?: Partial<AccountEvent> } = {}): AccountAlert {
  return { kind: 'account', account: over.account ?? 'main', event: accountEvent(over.event) };
}

export const POLICY: Policy = DEFAULT_POLICY;

export function webhookChannel(
  name: string,
  url: string,
  over: Partial<Extract<ChannelConfig, { type: 'webhook' }>> = {},
): ChannelConfig {
  return {
    type: 'webhook',
    name,
    url,
    secret: null,
    secretFormat: 'whsec',
    headers: {},
    timeoutMs: 5_000,
    ...over,
  };
}

export function alertmanagerChannel(name: string, urls: readonly string[]): ChannelConfig {
  return { type: 'alertmanager', name, urls, timeoutMs: 5_000 };
}

export function emailChannel(
  name: string,
  port: number,
  over: Partial<Extract<ChannelConfig, { type: 'email' }>> = {},
): ChannelConfig {
  return {
    type: 'email',
    name,
    smtp: { url: null, host: '127.0.0.1', port, secure: false, user: null, password: null },
    from: 'monitor@example.com',
    to: ['ops@example.com'],
    ehloName: null,
    timeoutMs: 5_000,
    ...over,
  };
}

/** What testConfig takes: any Config key; `notify` may leave out the grouping times. */
export type TestConfigOverrides = Omit<Partial<Config>, 'notify'> & {
  readonly notify?: Omit<Config['notify'], 'groupWaitMs' | 'groupIntervalMs'> &
    Partial<Pick<Config['notify'], 'groupWaitMs' | 'groupIntervalMs'>>;
};

/**
 * A complete Config; devices `123456789` (Sales phone, team=sales) and `222` (Support) in account
 * `main`. Grouping times default to 0 (every held event is due at the next release step), so
 * tests that are not about grouping see one message per publish; grouping tests set them.
 */
export function testConfig(over: TestConfigOverrides = {}): Config {
  const { notify, ...rest } = over;
  return {
    stateDir: '/nonexistent',
    store: { kind: 'sqlite', file: '/nonexistent/monitor.db' },
    ha: null,
    listen: { host: '127.0.0.1', port: 0 },
    timezone: 'UTC',
    schedule: '*/10 * * * * *',
    publicUrl: null,
    logLevel: 'info',
    defaults: POLICY,
    accounts: [
      {
        name: 'main',
        baseUrl: 'http://127.0.0.1:1/api',
        token: 'tok',
        concurrency: 4,
        rateLimitPerMinute: 30,
        policy: POLICY,
        devices: [
          {
            number: '123456789',
            name: 'Sales phone',
            labels: { team: 'sales' },
            channels: null,
            policy: POLICY,
          },
          { number: '222', name: 'Support', labels: { team: 'support' }, channels: null, policy: POLICY },
        ],
      },
    ],
    audit: { schedule: null, channels: [], staleAfterMs: 14 * 86_400_000 },
    maintenance: [],
    retentionMs: 90 * 86_400_000,
    web: { basicAuth: null },
    ...rest,
    notify: { groupWaitMs: 0, groupIntervalMs: 0, default: [], routes: [], channels: {}, ...notify },
  };
}

/** A logger whose JSON lines a test can read (to see what was logged, and that no secret was). */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const write = (text: string): void => {
    lines.push(...text.split('\n').filter((l) => l !== ''));
  };
  return { log: createLogger('debug', { write }), lines };
}

/** `id-1`, `id-2`, …: predictable event and delivery ids. */
export function sequentialIds(prefix = 'id'): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

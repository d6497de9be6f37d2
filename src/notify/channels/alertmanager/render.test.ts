import { describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { alertEffect, alertKey, alertmanagerAlert, alertmanagerAlerts, FIRING_VALID_MS } from './render.js';
import { accountNote, BERLIN, deviceNote, MIN, T0, upEvent, UTC } from '../../test-support/fixtures.js';

const NOW = T0 + 10_000;
const iso = (ms: number): string => new Date(ms).toISOString();

describe('alertmanagerAlert', () => {
  it('a drop fires WhatsGateDeviceDown with the device labels, from the start of the outage', () => {
    expect(alertmanagerAlert(deviceNote({ labels: { team: 'sales' } }), BERLIN, NOW)).toStrictEqual({
      labels: {
        team: 'sales',
        alertname: 'WhatsGateDeviceDown',
        account: 'main',
        device: '123456789',
        name: 'Sales phone',
      },
      annotations: {
        summary: 'Sales phone (123456789) is DOWN: disconnected',
        description:
          'Account main, down since 2026-11-24 18:29:00 +01:00. The device was linked, but the link is lost ' +
          '(the phone is offline or WhatsApp was logged out). Check the phone: powered on, online, WhatsApp open. ' +
          'If it stays disconnected, re-link it with a QR code. Re-link: `whatsgate-monitor connect 123456789` ' +
          'or https://monitor.example.com/reconnect/123456789.',
        reconnect_url: 'https://monitor.example.com/reconnect/123456789',
      },
      startsAt: iso(T0 - MIN),
      endsAt: iso(NOW + FIRING_VALID_MS),
      generatorURL: 'https://monitor.example.com/',
    });
  });

  it('without public_url there is no generatorURL and no reconnect link', () => {
    const alert = alertmanagerAlert(deviceNote(), UTC, NOW);
    expect(alert).not.toHaveProperty('generatorURL');
    expect(alert?.annotations).not.toHaveProperty('reconnect_url');
  });

  it('a recovery resolves the same labels, endsAt when it recovered', () => {
    const alert = alertmanagerAlert(deviceNote({ labels: { team: 'sales' }, event: upEvent() }), UTC, NOW);
    expect(alert?.labels).toStrictEqual({
      team: 'sales',
      alertname: 'WhatsGateDeviceDown',
      account: 'main',
      device: '123456789',
      name: 'Sales phone',
    });
    expect(alert?.startsAt).toBe(iso(T0 - MIN));
    expect(alert?.endsAt).toBe(iso(T0 + 30 * MIN));
    expect(alert?.annotations['summary']).toBe('Sales phone (123456789) is connected again');
  });

  it('an unreachable account fires WhatsGateAccountUnreachable; recovery resolves it', () => {
    const firing = alertmanagerAlert(accountNote(), UTC, NOW);
    expect(firing?.labels).toStrictEqual({ alertname: 'WhatsGateAccountUnreachable', account: 'main' });
    expect(firing?.startsAt).toBe(iso(T0 - 2 * MIN));
    expect(firing?.endsAt).toBe(iso(NOW + FIRING_VALID_MS));
    expect(firing?.annotations['description']).toContain(
      'unauthorized: the gateway rejected the access token',
    );
    const resolved = alertmanagerAlert(
      accountNote({ event: { type: 'account.recovered', at: T0 + 5 * MIN, reason: null, message: null } }),
      UTC,
      NOW,
    );
    expect(resolved?.labels).toStrictEqual(firing?.labels);
    expect(resolved?.endsAt).toBe(iso(T0 + 5 * MIN));
  });

  it.each<[string, NotificationEvent, 'fire' | 'resolve' | null, string | null]>([
    ['device.down', deviceNote(), 'fire', 'device/main/123456789'],
    ['device.reminder', deviceNote({ event: { type: 'device.reminder' } }), 'fire', 'device/main/123456789'],
    [
      'device.flapping while DOWN',
      deviceNote({ event: { type: 'device.flapping' } }),
      'fire',
      'device/main/123456789',
    ],
    [
      'device.flapping while UP',
      deviceNote({ event: { type: 'device.flapping', status: 'connected', downSince: undefined } }),
      null,
      'device/main/123456789',
    ],
    ['device.up', deviceNote({ event: upEvent() }), 'resolve', 'device/main/123456789'],
    ['account.unreachable', accountNote(), 'fire', 'account/main'],
    ['account.recovered', accountNote({ event: { type: 'account.recovered' } }), 'resolve', 'account/main'],
    ['test', { id: 't', kind: 'test', at: T0, channel: 'am' }, 'fire', null],
  ])('%s → %s', (_name, event, effect, key) => {
    expect(alertEffect(event)).toBe(effect);
    expect(alertKey(event)).toBe(key);
  });

  it('a flapping device that is UP posts nothing', () => {
    const flapUp = deviceNote({
      event: { type: 'device.flapping', status: 'connected', downSince: undefined },
    });
    expect(alertmanagerAlerts([flapUp, deviceNote({ number: '2' })], UTC, NOW)).toHaveLength(1);
  });

  it('a test alert has its own name and resolves by itself', () => {
    const alert = alertmanagerAlert({ id: 't', kind: 'test', at: T0, channel: 'am' }, UTC, NOW);
    expect(alert?.labels).toStrictEqual({ alertname: 'WhatsGateTest', channel: 'am' });
    expect(alert?.endsAt).toBe(iso(NOW + FIRING_VALID_MS));
  });
});

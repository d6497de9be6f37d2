import type { AccountEvent } from '../monitor/account-state.js';
import type { DeliveryEvent } from '../monitor/delivery.js';
import type { DeviceEvent } from '../monitor/device-state.js';
import type { OutboxStore } from '../store/outbox-store.js';

/**
 * What a device alert is about: its link (device-state.ts: `status` set) or its delivery health
 * (delivery.ts, SPEC §10: `problem` and `reading` set). `isDeliveryEvent` tells them apart.
 */
export type DeviceAlertEvent = DeviceEvent | DeliveryEvent;

export function isDeliveryEvent(event: DeviceAlertEvent): event is DeliveryEvent {
  return 'problem' in event && 'reading' in event;
}

/** A device event with the identity receivers need (SPEC §8 `device: {number, name, labels}`). */
export interface DeviceAlert {
  readonly kind: 'device';
  readonly account: string;
  readonly device: {
    readonly number: string;
    readonly name: string;
    readonly labels: Readonly<Record<string, string>>;
  };
  /** The device's own `channels`, overriding routing, when configured. */
  readonly channels: readonly string[] | null;
  readonly event: DeviceAlertEvent;
  /**
   * A fresh QR code to re-link the device (`reconnect: qr`, fetched once at DOWN): an inline
   * image in email, `qr_code` in the webhook JSON.
   */
  readonly qrCode?: { readonly dataUrl: string };
}

export interface AccountAlert {
  readonly kind: 'account';
  readonly account: string;
  readonly event: AccountEvent;
}

export type MonitorAlert = DeviceAlert | AccountAlert;

/**
 * Where the decisions of one poll tick go, so the notification layer can group them into one
 * message per channel (SPEC §8). `outbox` is the handle of the transaction that stores the
 * tick's device rows (`tx.outbox`): its messages commit with them, or neither does.
 */
export interface AlertSink {
  publish(alerts: readonly MonitorAlert[], outbox: OutboxStore): Promise<void>;
}

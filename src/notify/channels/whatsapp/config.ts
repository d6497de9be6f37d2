// The whatsapp channel's config (SPEC §11): the account whose gateway sends, the sender devices
// tried in order (`from`: devices of that account the monitor watches, so it knows which are UP),
// and the recipients (`to`). Numbers are written as for devices: digits, a leading `+` and
// spaces or dashes between groups allowed, stored as digits only.

import { z } from 'zod';
import { DEVICE_NUMBER_HINT, normalizeDeviceNumber } from '../../../fields/fields.js';
import { list, type Tree } from '../../../fields/raw-tree.js';
import { channelTimeout, checked, expecting } from '../../../fields/schema-kit.js';
import type { ChannelCheckContext, ChannelResolveContext } from '../definition.js';

const phoneNumber = (what: string) =>
  checked(z.union([z.string(), z.number()], { error: expecting(`${what}: ${DEVICE_NUMBER_HINT}`) }), (v) =>
    normalizeDeviceNumber(v) === null ? `not a phone number: ${DEVICE_NUMBER_HINT}` : null,
  );

export const whatsappSchema = z.strictObject({
  type: z.literal('whatsapp'),
  account: z
    .string({ error: expecting('the name of an account under accounts') })
    .min(1)
    .describe('the account (accounts[].name) whose gateway sends; its budget pays for every message'),
  from: z
    .array(phoneNumber('a device number'))
    .min(1)
    .describe('sender devices of that account, tried in order: the first one UP sends'),
  to: z
    .array(phoneNumber('a phone number'))
    .min(1)
    .describe('phone numbers that receive the alerts, with country code (a leading + is stripped)'),
  timeout: channelTimeout(),
});

export interface WhatsappChannelConfig {
  readonly type: 'whatsapp';
  readonly name: string;
  readonly account: string;
  /** Digits; in the order given, duplicates removed. */
  readonly from: readonly string[];
  /** Digits; in the order given, duplicates removed. */
  readonly to: readonly string[];
  /** One `/send/text` call (the wait for the account's budget comes on top). */
  readonly timeoutMs: number;
}

function digitsOf(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? normalizeDeviceNumber(value) : null;
}

/** `account` names a configured account, and every `from` device is one of its devices. */
export function checkWhatsapp(channel: Tree, at: ChannelCheckContext): void {
  const account = channel['account'];
  if (typeof account !== 'string' || account === '') return; // zod reports it
  const devices = at.accounts.get(account);
  if (devices === undefined) {
    const known = [...at.accounts.keys()];
    const hint = known.length === 0 ? 'no accounts are configured' : `configured: ${known.join(', ')}`;
    at.issues.add([...at.path, 'account'], `unknown account "${account}" (${hint})`);
    return;
  }
  list(channel['from']).forEach((value, i) => {
    const number = digitsOf(value);
    if (number !== null && !devices.has(number)) {
      at.issues.add(
        [...at.path, 'from', i],
        `${number} is not a device of account "${account}": a sender must be monitored there, so the monitor knows whether it is UP`,
      );
    }
  });
}

export function resolveWhatsapp(
  raw: z.output<typeof whatsappSchema>,
  at: ChannelResolveContext,
): WhatsappChannelConfig {
  const digits = (values: readonly (string | number)[]): string[] => {
    const out = values.map((v) => {
      const d = normalizeDeviceNumber(v);
      if (d === null) throw new Error('invariant: numbers were checked by the schema');
      return d;
    });
    return [...new Set(out)];
  };
  return {
    type: 'whatsapp',
    name: at.name,
    account: raw.account,
    from: digits(raw.from),
    to: digits(raw.to),
    timeoutMs: at.timeoutMs(raw.timeout),
  };
}

/** None of its own: the account's token is the account's secret, redacted with the others. */
export function whatsappSecrets(): string[] {
  return [];
}

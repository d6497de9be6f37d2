// One of every kind of alert email, as an operator receives it: the events of a realistic message,
// rendered by the channel's own renderer and composed by its own mailOptions (what the notifier
// hands nodemailer), then built to RFC 822 by nodemailer's stream transport. Shared by the spam
// test and the 360 px layout test, so both judge the same mails.

import { createTransport } from 'nodemailer';
import QRCode from 'qrcode';
import { computeAudit, deviceKey } from '../../src/audit/compute.js';
import { buildAuditMessage } from '../../src/audit/sender.js';
import type { EmailChannelConfig } from '../../src/config/types.js';
import { mailOptions } from '../../src/notify/channels/email/compose.js';
import { renderEmail, type EmailContent } from '../../src/notify/channels/email/render.js';
import type { NotificationEvent, RenderContext } from '../../src/notify/message.js';
import {
  accountNote,
  deviceNote,
  emailChannel,
  MIN,
  T0,
  upEvent,
} from '../../src/notify/test-support/fixtures.js';
import type { HistoryRow } from '../../src/store/store.js';

export interface EmailSample {
  readonly name: string;
  readonly events: readonly NotificationEvent[];
}

export const SAMPLE_CONTEXT: RenderContext = {
  timeZone: 'Europe/Berlin',
  publicUrl: 'https://whatsgate-monitor.ops.example.com',
};

/** A plain `from` and `to` (no display names): the case that scored worst. */
export const SAMPLE_CHANNEL = emailChannel('ops', 587, {
  from: 'alerts@example.com',
  to: ['oncall@example.net'],
}) as EmailChannelConfig;

const H = 60 * MIN;
const D = 24 * H;

function auditSample(): NotificationEvent {
  const now = T0;
  const since = now - 7 * D;
  const row = (device: string, at: number, from: HistoryRow['from'], to: HistoryRow['to']): HistoryRow => ({
    account: 'main',
    device,
    at,
    from,
    to,
    raw: null,
  });
  const report = computeAudit({
    devices: [
      { account: 'main', number: '4915112345678', name: 'Sales phone Berlin' },
      { account: 'main', number: '4915187654321', name: 'Support hotline' },
      { account: 'main', number: '4930123456789', name: 'Front desk tablet' },
      { account: 'branches', number: '4989555123456', name: 'Munich branch' },
      { account: 'branches', number: '4940555987654', name: 'Hamburg branch (old)' },
    ],
    history: [
      row('4915112345678', since - D, null, 'connected'),
      row('4915112345678', since + D, 'connected', 'disconnected'),
      row('4915112345678', since + D + 95 * MIN, 'disconnected', 'connected'),
      row('4915187654321', since - D, null, 'connected'),
      row('4930123456789', now - 20 * D, null, 'not_connected'),
      { ...row('4989555123456', since - D, null, 'connected'), account: 'branches' },
      { ...row('4940555987654', now - 30 * D, null, 'connected'), account: 'branches' },
      { ...row('4940555987654', now - 2 * D, 'connected', 'deleted'), account: 'branches' },
    ],
    now,
    since,
    staleAfterMs: 14 * D,
    notFound: new Set([deviceKey('branches', '4989555123456')]),
  });
  const message = buildAuditMessage(report, SAMPLE_CONTEXT.timeZone);
  return {
    id: 'audit-1',
    kind: 'audit',
    at: now,
    subject: message.subject,
    text: message.text,
    html: message.html,
    report: message.json,
  };
}

/** A real QR code of the size the gateway sends (a WhatsApp link ref is ~240 characters). */
async function qrDataUrl(): Promise<string> {
  const ref = `2@${'Xq7LmN3pRt9vWz1bYc5dFg8hJk2'.repeat(8)},${'aB3dE5gH7jK9mN1pQ3sT5vW7yZ9'.repeat(2)}=`;
  return QRCode.toDataURL(ref, { margin: 2, scale: 4 });
}

export async function emailSamples(): Promise<EmailSample[]> {
  const qr = await qrDataUrl();
  const outage = { down: 12, total: 40, likelyGatewaySide: true };
  return [
    {
      name: 'DOWN with a QR code',
      events: [
        deviceNote({
          number: '4915112345678',
          name: 'Sales phone Berlin',
          labels: { team: 'sales', site: 'berlin' },
          event: { status: 'not_connected' },
          qrCode: qr,
        }),
      ],
    },
    {
      name: 'UP',
      events: [deviceNote({ number: '4915112345678', name: 'Sales phone Berlin', event: upEvent() })],
    },
    {
      name: 'grouped outage',
      events: Array.from({ length: 12 }, (_, i) =>
        deviceNote({ number: `49151000000${String(i).padStart(2, '0')}`, name: `Store ${i + 1}`, outage }),
      ),
    },
    {
      name: 'account unreachable',
      events: [
        accountNote({
          account: 'main',
          event: { reason: 'unauthorized', message: 'HTTP 401: invalid Access-Token' },
        }),
      ],
    },
    { name: 'audit report', events: [auditSample()] },
    { name: 'test', events: [{ id: 'test-1', kind: 'test', at: T0, channel: 'ops' }] },
  ];
}

export function renderSample(sample: EmailSample): EmailContent {
  return renderEmail(sample.events, SAMPLE_CONTEXT);
}

/** The message as nodemailer writes it to the SMTP server, CRLF line ends. */
export async function composeSample(
  sample: EmailSample,
  deliveryId = 'c0ffee00-1234-4abc-9def-0123456789ab',
): Promise<string> {
  const transport = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const options = mailOptions(SAMPLE_CHANNEL, renderSample(sample), {
    deliveryId,
    events: sample.events,
    now: T0 + 5_000,
  });
  const info = await transport.sendMail(options);
  return (info.message as Buffer).toString('utf8');
}

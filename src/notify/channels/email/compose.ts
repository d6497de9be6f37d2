// The envelope of an alert email: everything nodemailer needs beyond the rendered content. Pure
// (nodemailer types only), so the spam test composes exactly what the notifier sends.
//
// Why each header is here — measured with SpamAssassin 4.0.1 (test/email-spam.test.ts):
// - Message-ID ends in the sender's own domain, not a made-up host: receivers check that the
//   right-hand side is a real domain, and a retry keeps the id (the delivery id) so mail systems
//   drop the duplicate.
// - From carries a display name ("WhatsGate Monitor <…>") when the config gives none: a bare From
//   and a bare To beside an HTML image is TO_NO_BRKTS_HTML_IMG.
// - Auto-Submitted (RFC 3834) and X-Auto-Response-Suppress (Exchange) keep vacation responders
//   and out-of-office replies from answering an alert.

import type Mail from 'nodemailer/lib/mailer/index.js';
import type { NotificationEvent } from '../../message.js';
import { eventType } from '../../message.js';
import type { OutgoingMessage } from '../../notifier.js';
import { worstFirst } from '../../describe.js';
import { emailDomain, mailboxAddress, mailboxName, type EmailChannelConfig } from './config.js';
import type { EmailContent } from './render.js';

/** The From display name when `from` has none. */
export const DEFAULT_FROM_NAME = 'WhatsGate Monitor';

/** The name EHLO gives: `ehlo_name`, else the domain of `from` — never the container's hostname. */
export function ehloName(config: Pick<EmailChannelConfig, 'ehloName' | 'from'>): string {
  return config.ehloName ?? emailDomain(config.from);
}

export function messageId(deliveryId: string, from: string): string {
  return `<${deliveryId}@${emailDomain(from)}>`;
}

function fromAddress(from: string): Mail.Address {
  return { name: mailboxName(from) ?? DEFAULT_FROM_NAME, address: mailboxAddress(from) };
}

export function mailOptions(
  config: Pick<EmailChannelConfig, 'from' | 'to'>,
  content: EmailContent,
  message: Pick<OutgoingMessage, 'deliveryId' | 'now'> & { events: readonly NotificationEvent[] },
): Mail.Options {
  const [first] = worstFirst(message.events);
  return {
    from: fromAddress(config.from),
    to: [...config.to],
    subject: content.subject,
    text: content.text,
    html: content.html,
    date: new Date(message.now),
    messageId: messageId(message.deliveryId, config.from),
    headers: {
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      'X-Whatsgate-Delivery-Id': message.deliveryId,
      ...(first === undefined ? {} : { 'X-Whatsgate-Event': eventType(first) }),
    },
    attachments: content.images.map((img) => ({
      filename: img.filename,
      content: img.base64,
      encoding: 'base64',
      contentType: img.contentType,
      cid: img.cid,
      contentDisposition: 'inline' as const,
    })),
  };
}

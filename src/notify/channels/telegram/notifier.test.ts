// The Bot API requests as Telegram documents them, against a real local receiver.

import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationEvent } from '../../message.js';
import { BERLIN, deviceNote, PNG_BASE64, QR_DATA_URL, T0, upEvent } from '../../test-support/fixtures.js';
import { startReceiver, type Receiver } from '../../test-support/http-receiver.js';
import type { TelegramChannelConfig } from './config.js';
import { telegram } from './index.js';
import { QR_FRESH_MS, TEXT_LIMIT } from './render.js';

const TOKEN = '123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0';
const never = new AbortController().signal;
let receiver: Receiver;

afterEach(async () => {
  await receiver.close();
});

async function send(events: NotificationEvent[], now = T0 + 10_000) {
  receiver = await startReceiver(() => ({ status: 200, body: '{"ok":true,"result":{}}' }));
  const config: TelegramChannelConfig = {
    type: 'telegram',
    name: 'tg',
    botToken: TOKEN,
    chatId: '-1001234567890',
    apiUrl: receiver.url,
    timeoutMs: 2_000,
  };
  const result = await telegram.createNotifier(config, BERLIN).send({ deliveryId: 'd1', events, now }, never);
  expect(result).toEqual({ ok: true });
  return receiver.requests;
}

interface SendMessage {
  chat_id: string;
  text: string;
  parse_mode: string;
  disable_web_page_preview: boolean;
  link_preview_options: { is_disabled: boolean };
}

function sendMessage(req: { method: string; path: string; headers: Record<string, unknown>; body: string }) {
  expect(req.method).toBe('POST');
  expect(req.path).toBe(`/bot${TOKEN}/sendMessage`);
  expect(req.headers['content-type']).toBe('application/json');
  const body = JSON.parse(req.body) as SendMessage;
  expect(body).toMatchObject({
    chat_id: '-1001234567890',
    parse_mode: 'HTML',
    disable_web_page_preview: true,
    link_preview_options: { is_disabled: true },
  });
  return body;
}

/**
 * The parts of a multipart/form-data body, parsed independently of how it was built. The
 * receiver keeps bodies as UTF-8 text, so the file part is compared in that form.
 */
function formParts(contentType: string, text: string) {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  expect(boundary).toBeDefined();
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => {
      const [head = '', ...rest] = part.replace(/^\r\n/, '').split('\r\n\r\n');
      const value = rest.join('\r\n\r\n').replace(/\r\n$/, '');
      return {
        name: /name="([^"]+)"/.exec(head)?.[1],
        filename: /filename="([^"]+)"/.exec(head)?.[1],
        type: /Content-Type: (\S+)/i.exec(head)?.[1],
        value,
      };
    });
}

describe('telegram requests (Bot API)', () => {
  it('a DOWN without a QR code: one sendMessage, HTML, to the chat', async () => {
    const requests = await send([deviceNote()]);
    expect(requests).toHaveLength(1);
    const body = sendMessage(requests[0]!);
    expect(body.text).toContain('<b>DOWN: Sales phone (123456789) disconnected</b>');
    expect(body.text).toContain('https://monitor.example.com/reconnect/123456789');
    expect(body.text).not.toContain('photo above');
  });

  it('a DOWN with a fresh QR code: sendPhoto (multipart, photo file part, chat_id, caption) first, then the text', async () => {
    const requests = await send([deviceNote({ qrCode: QR_DATA_URL })]);
    expect(requests.map((r) => r.path)).toEqual([`/bot${TOKEN}/sendPhoto`, `/bot${TOKEN}/sendMessage`]);
    const photo = requests[0]!;
    expect(photo.method).toBe('POST');
    expect(String(photo.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    const parts = formParts(String(photo.headers['content-type']), photo.body);
    const byName = new Map(parts.map((p) => [p.name, p]));
    expect(byName.get('chat_id')?.value).toBe('-1001234567890');
    expect(byName.get('parse_mode')?.value).toBe('HTML');
    expect(byName.get('caption')?.value).toContain('Scan this QR code');
    const file = byName.get('photo');
    expect(file).toMatchObject({ filename: 'qr-123456789.png', type: 'image/png' });
    expect(file!.value).toBe(Buffer.from(PNG_BASE64, 'base64').toString('utf8'));
    expect(sendMessage(requests[1]!).text).toContain('QR code: the photo above');
  });

  it('a QR code older than a minute is not sent: text only', async () => {
    const requests = await send([deviceNote({ qrCode: QR_DATA_URL })], T0 + QR_FRESH_MS + 1);
    expect(requests.map((r) => r.path)).toEqual([`/bot${TOKEN}/sendMessage`]);
  });

  it('an outage of 50: one message within 4096 characters, cut with "…and N more"', async () => {
    const events = Array.from({ length: 50 }, (_, i) =>
      deviceNote({
        number: `4915100000${String(i).padStart(2, '0')}`,
        name: `Phone ${String(i).padStart(2, '0')}`,
      }),
    );
    const requests = await send(events);
    expect(requests).toHaveLength(1);
    const { text } = sendMessage(requests[0]!);
    expect(text.length).toBeLessThanOrEqual(TEXT_LIMIT);
    expect(text).toMatch(/^🔴 <b>DOWN: 50 devices<\/b>\n/);
    const listed = text.match(/<b>DOWN<\/b> Phone/g)?.length ?? 0;
    expect(listed).toBeGreaterThan(5);
    expect(text).toContain(
      `…and ${50 - listed} more — see <a href="https://monitor.example.com/">the status page</a>`,
    );
  });

  it('an UP and a test event: one sendMessage each', async () => {
    const up = sendMessage((await send([deviceNote({ event: upEvent() })]))[0]!);
    expect(up.text).toContain('🟢 <b>UP: Sales phone (123456789) connected</b>');
    await receiver.close();
    const test = sendMessage((await send([{ id: 't', kind: 'test', at: T0, channel: 'tg' }]))[0]!);
    expect(test.text).toContain('TEST: test message for channel tg');
  });
});

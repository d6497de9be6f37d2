// The shared notifier contract for whatsapp: its receiver is a local HTTP server speaking
// WhatsGate's `POST /api/send/text` (the answers the gateway gives, scripted), reached through the
// real client and the account's metered gateway, as the daemon wires it.

import { createGatewayClient } from '../../../gateway/client.js';
import { systemClock } from '../../../poll/system-clock.js';
import { MeteredGateway } from '../../../poll/metered-gateway.js';
import { startReceiver } from '../../test-support/http-receiver.js';
import { describeNotifierContract, type ReceiverKit } from '../../test-support/notifier-contract.js';
import { UTC } from '../../test-support/fixtures.js';
import type { ChannelServices } from '../definition.js';
import type { WhatsappChannelConfig } from './config.js';
import { whatsapp } from './index.js';

const TOKEN = 'wa-access-token-0123456789';

/**
 * `/send/text` as WhatsGate answers it: 200 `{"success":true}` queued; 5xx; 429 with
 * Retry-After; refusals as the gateway words them — 422 validation (`The selected sender device
 * is invalid.`) and 400 — each echoing the request (headers, token included) when asked.
 */
const SEND_TEXT_RECEIVER: ReceiverKit = {
  protocol: 'WhatsGate /send/text',
  codes: { accept: [200], unavailable: [500, 502, 503], rate_limited: [429], refuse: [422, 400] },
  retryAfter: true,
  async start(answer, code) {
    const r = await startReceiver((req) => {
      if (req.method !== 'POST' || req.path !== '/api/send/text') return { status: 404 };
      const echo = 'echo' in answer && answer.echo === true;
      const said = echo ? ` ${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body}` : '';
      const json = (body: unknown): { status: number; body: string; headers: Record<string, string> } => ({
        status: code,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      switch (answer.kind) {
        case 'accept':
          return json({ success: true, message: 'Message queued', id: 'm1' });
        case 'rate_limited':
          return { status: code, headers: { 'retry-after': String(answer.retryAfterSeconds) } };
        case 'unavailable':
          return json({ message: `Server Error${said}` });
        case 'refuse':
          return json({ success: false, message: `The selected sender device is invalid.${said}` });
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

describeNotifierContract({
  type: 'whatsapp',
  receiver: SEND_TEXT_RECEIVER,
  build(target) {
    const gateway = new MeteredGateway({
      account: 'main',
      client: createGatewayClient({ baseUrl: `${target.url}/api`, token: TOKEN, timeoutMs: 2_000 }),
      rateLimitPerMinute: 60,
      clock: systemClock,
    });
    const services: ChannelServices = {
      gateways: {
        sender: (account) =>
          account !== 'main'
            ? null
            : {
                isUp: () => true,
                sendText: (sender, phone, message, options) =>
                  gateway.sendText(sender, phone, message, options),
              },
      },
    };
    const config: WhatsappChannelConfig = {
      type: 'whatsapp',
      name: 'wa',
      account: 'main',
      from: ['491510000001'],
      to: ['491700000009'],
      timeoutMs: 2_000,
    };
    const notifier = whatsapp.createNotifier(config, UTC, services);
    // close() releases the gateway too: the contract closes each notifier it builds.
    return {
      notifier: {
        channel: notifier.channel,
        type: notifier.type,
        send: (m, s) => notifier.send(m, s),
        close: async () => {
          await notifier.close();
          await gateway.close();
        },
      },
      secrets: [TOKEN],
    };
  },
});

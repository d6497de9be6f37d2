import { describe, expect, it } from 'vitest';
import { renderEmail } from './channels/email/render.js';
import { ntfyMessage } from './channels/ntfy/render.js';
import { telegramText } from './channels/telegram/render.js';
import { whatsappText } from './channels/whatsapp/render.js';
import { cardOf } from './chat/cards.js';
import { connectCommand, relinkHelp } from './describe.js';
import type { RenderContext } from './message.js';
import { renderContext } from './registry.js';
import { BERLIN, deviceNote } from './test-support/fixtures.js';

describe('the connect command printed in alerts', () => {
  it.each<[string, string | undefined, string]>([
    ['the default config: no --config', undefined, 'whatsgate-monitor connect 123456789'],
    [
      'another file: --config with its path',
      '/srv/monitor/config.yml',
      'whatsgate-monitor connect 123456789 --config /srv/monitor/config.yml',
    ],
    [
      'a path with a space or a quote: one shell word',
      "/srv/my monitor/it's.yml",
      `whatsgate-monitor connect 123456789 --config '/srv/my monitor/it'\\''s.yml'`,
    ],
  ])('%s', (_name, configFile, command) => {
    const ctx: RenderContext = configFile === undefined ? BERLIN : { ...BERLIN, configFile };
    expect(connectCommand('123456789', ctx)).toBe(command);
    expect(relinkHelp('123456789', ctx).command).toBe(command);
  });

  it('renderContext carries Config.configFile; absent, no --config', () => {
    const base = { timezone: 'UTC', publicUrl: null };
    expect(renderContext(base)).toEqual({ timeZone: 'UTC', publicUrl: null });
    expect(renderContext({ ...base, configFile: '/srv/c.yml' })).toEqual({
      timeZone: 'UTC',
      publicUrl: null,
      configFile: '/srv/c.yml',
    });
  });

  it('every channel prints the same command: email, chat cards, ntfy, Telegram, WhatsApp (also in grouped advice)', () => {
    const ctx: RenderContext = { ...BERLIN, configFile: '/srv/monitor/config.yml' };
    const command = 'whatsgate-monitor connect 123456789 --config /srv/monitor/config.yml';
    const one = [deviceNote()];
    const email = renderEmail(one, ctx);
    expect(email.text).toContain(command);
    expect(email.html).toContain(command);
    expect(cardOf(deviceNote(), ctx).lines).toContainEqual(
      expect.objectContaining({ label: 'Re-link', text: command, code: true }),
    );
    expect(ntfyMessage(one, ctx)).toContain(command);
    expect(telegramText(one, ctx)).toContain(command);
    const two = [deviceNote(), deviceNote({ number: '987654321' })];
    expect(ntfyMessage(two, ctx)).toContain(
      'Re-link a device: whatsgate-monitor connect NUMBER --config /srv/monitor/config.yml',
    );
    expect(telegramText(two, ctx)).toContain(
      '<code>whatsgate-monitor connect NUMBER --config /srv/monitor/config.yml</code>',
    );
    expect(whatsappText(one, ctx)).toContain(command);
    expect(whatsappText(two, ctx)).toContain(
      'whatsgate-monitor connect NUMBER --config /srv/monitor/config.yml',
    );
  });
});

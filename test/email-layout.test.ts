// Every kind of alert email on a 360 px phone, in chromium: the HTML part as a mail app shows it
// must not scroll sideways. Issue 16: the DOWN email was 460 px wide (the re-link URL did not wrap)
// and the audit's nine-column table 885 px. Also without the <style> block, as clients that drop
// it (some webmail) show the mail: inline styles alone must fit.

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium, SCROLL_WIDTH } from './support/chromium.js';
import { emailSamples, renderSample } from './support/email-samples.js';

const IN_CI = process.env['CI'] !== undefined && process.env['CI'] !== '';
const PHONE = { width: 360, height: 740 };

/** The HTML with its cid: images inlined, as the mail app shows them. */
function viewable(
  html: string,
  images: readonly { cid: string; contentType: string; base64: string }[],
): string {
  let out = html;
  for (const img of images)
    out = out.replaceAll(`cid:${img.cid}`, `data:${img.contentType};base64,${img.base64}`);
  return out;
}

describe.skipIf(!HAVE_CHROMIUM)('alert emails at 360 px', async () => {
  const samples = await emailSamples();
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function widthOf(html: string): Promise<number> {
    const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 1 });
    try {
      const page = await context.newPage();
      await page.setContent(html, { waitUntil: 'load' });
      return await page.evaluate<number>(SCROLL_WIDTH);
    } finally {
      await context.close();
    }
  }

  it.each(samples.map((s) => [s.name, s] as const))('%s fits (no sideways scroll)', async (_name, sample) => {
    const mail = renderSample(sample);
    expect(await widthOf(viewable(mail.html, mail.images))).toBeLessThanOrEqual(PHONE.width);
  });

  it.each(samples.map((s) => [s.name, s] as const))('%s fits with <style> dropped', async (_name, sample) => {
    const mail = renderSample(sample);
    const inlineOnly = viewable(mail.html, mail.images).replace(/<style>[\s\S]*?<\/style>/g, '');
    expect(await widthOf(inlineOnly)).toBeLessThanOrEqual(PHONE.width);
  });

  it('the measure can fail: an unbreakable URL in the old markup is wider than the phone', async () => {
    const url = `https://whatsgate-monitor.ops.example.com/reconnect/${'4915112345678'.repeat(3)}`;
    const old = `<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><table><tr><td style="white-space: nowrap;">Re-link</td><td><a href="${url}">${url}</a></td></tr></table></body></html>`;
    expect(await widthOf(old)).toBeGreaterThan(PHONE.width);
  });
});

if (!HAVE_CHROMIUM) {
  describe('alert emails at 360 px (unavailable)', () => {
    (IN_CI ? it : it.skip)(`${CHROMIUM} is missing: apt-get install chromium`, () => {
      throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
    });
  });
}

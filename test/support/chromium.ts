// Debian's chromium through playwright-core, launched the same way by every browser test.

import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** `extraArgs`: e.g. host resolver rules for one test file. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** Page width beyond the viewport: > 0 means a horizontal scroll bar (string: no DOM lib here). */
export const SCROLL_WIDTH = 'document.documentElement.scrollWidth';

// The status page and the re-link page in a real headless browser (Debian chromium through
// playwright-core), served by the real HTTP server with handlers backed by the simulator.
// Screenshots of both pages are kept in docs/.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, type GatewayClient } from '../src/gateway/client.js';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import {
  reconnectResultFrom,
  startHttpServer,
  type HttpHandlers,
  type HttpServer,
} from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { computeAudit } from '../src/audit/compute.js';
import type { DeviceStatus, Health } from '../src/monitor/model.js';
import type { HistoryRow } from '../src/store/store.js';
import type { StatusAccountFacts, StatusPageData } from '../src/web/status-view.js';
import { CHROMIUM, HAVE_CHROMIUM, launchChromium, SCROLL_WIDTH } from './support/chromium.js';

const IN_CI = process.env['CI'] !== undefined && process.env['CI'] !== '';
// Screenshots go to docs/ only when asked (UPDATE_SCREENSHOTS=1), so a test run leaves the tree clean.
const DOCS =
  process.env['UPDATE_SCREENSHOTS'] === '1'
    ? fileURLToPath(new URL('../docs/', import.meta.url))
    : `${mkdtempSync(join(tmpdir(), 'wgm-shots-'))}/`;
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const quiet = createLogger('fatal', new Writable({ write: (_c, _e, cb) => cb() }));

// PHP's password_hash('password') — the `$2y$` flavour `htpasswd -nBC 10` writes.
const BASIC_AUTH = {
  user: 'ops',
  passwordHash: '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi',
};

const H = 3_600_000;
const D = 24 * H;

interface Device {
  readonly account: string;
  readonly number: string;
  readonly name: string;
  status: DeviceStatus | null;
  statusRaw: string | null;
  health: Health;
  statusSince: number | null;
  lastCheckAt: number | null;
  probeError: string | null;
}

/** A miniature monitor over the simulator: enough state for the two pages. */
class Harness {
  readonly devices: Device[] = [];
  readonly history: HistoryRow[] = [];
  readonly #clients = new Map<string, GatewayClient>();

  constructor(sim: Simulator) {
    this.#clients.set(
      'main',
      createGatewayClient({ baseUrl: sim.baseUrl, token: sim.token, timeoutMs: 5_000 }),
    );
    this.#clients.set(
      'legacy',
      createGatewayClient({ baseUrl: sim.baseUrl, token: 'expired-token', timeoutMs: 5_000 }),
    );
  }

  add(account: string, number: string, name: string, seed: readonly [number, DeviceStatus][]): void {
    let prev: DeviceStatus | null = null;
    for (const [at, to] of seed) {
      this.history.push({ account, device: number, at, from: prev, to, raw: null });
      prev = to;
    }
    const since = seed.at(-1)?.[0] ?? null;
    this.devices.push({
      account,
      number,
      name,
      status: prev,
      statusRaw: prev,
      health: prev === null || prev === 'connected' ? 'UP' : 'DOWN',
      statusSince: since,
      lastCheckAt: null,
      probeError: null,
    });
  }

  async check(d: Device): Promise<void> {
    const client = this.#clients.get(d.account);
    if (client === undefined) throw new Error(`no client for ${d.account}`);
    const obs = await client.status(d.number);
    const now = Date.now();
    d.lastCheckAt = now;
    if (obs.kind === 'probe_error') {
      d.probeError = `${obs.reason}: ${obs.message}`;
      return;
    }
    d.probeError = null;
    if (obs.status !== d.status) {
      this.history.push({
        account: d.account,
        device: d.number,
        at: now,
        from: d.status,
        to: obs.status,
        raw: obs.raw,
      });
      d.status = obs.status;
      d.statusRaw = obs.raw;
      d.statusSince = now;
    }
    d.health = obs.status === 'connected' ? 'UP' : 'DOWN';
  }

  async checkAll(): Promise<void> {
    for (const d of this.devices) await this.check(d);
  }

  accounts(): StatusAccountFacts[] {
    return ['main', 'legacy'].map((name) => {
      const failing = this.devices.filter((d) => d.account === name && d.probeError !== null);
      const all = this.devices.filter((d) => d.account === name);
      const down = failing.length > 0 && failing.length === all.length;
      return {
        name,
        reachable: !down,
        problem: down ? (failing[0]?.probeError ?? null) : null,
        problemSince: down ? Date.now() - 42 * 60_000 : null,
      };
    });
  }

  /** What the daemon's views read from the store's rollups, here from the harness's rows. */
  statusPage(now: number): StatusPageData {
    const uptimes = (window: number) =>
      computeAudit({
        devices: this.devices.map((d) => ({ account: d.account, number: d.number, name: d.name })),
        history: this.history,
        now,
        since: now - window,
        staleAfterMs: 0,
      }).devices.map((d) => d.uptime);
    const day = uptimes(D);
    const week = uptimes(7 * D);
    return {
      now,
      timeZone: 'Europe/Berlin',
      version: '0.1.0',
      accounts: this.accounts(),
      devices: this.devices.map((d, i) => ({
        ...d,
        silencedUntil: null,
        uptime24h: day[i] ?? null,
        uptime7d: week[i] ?? null,
        recentChanges: this.history
          .filter((h) => h.account === d.account && h.device === d.number && h.at >= now - 7 * D)
          .reverse()
          .slice(0, 3),
      })),
    };
  }

  handlers(): HttpHandlers {
    const find = (number: string): Device | undefined => this.devices.find((d) => d.number === number);
    return {
      ready: () => true,
      metrics: (send) => send('text/plain', new TextEncoder().encode('')),
      devices: () => [],
      history: () => null,
      statusPage: (): StatusPageData => this.statusPage(Date.now()),
      relinkDevice: async (number, { checkSoon }) => {
        const d = find(number);
        if (d === undefined) return null;
        if (checkSoon) await this.check(d);
        return {
          account: d.account,
          number: d.number,
          name: d.name,
          status: d.status,
          lastCheckAt: d.lastCheckAt,
        };
      },
      reconnectQr: async (number, signal) => {
        const d = find(number);
        const client = d === undefined ? undefined : this.#clients.get(d.account);
        if (client === undefined) return { status: 'not_found', message: 'not configured' };
        return reconnectResultFrom(await client.connect(number, { signal }));
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
  }
}

describe.skipIf(!HAVE_CHROMIUM)('pages in a real browser', () => {
  let sim: Simulator;
  let harness: Harness;
  let browser: Browser;
  const servers: HttpServer[] = [];

  beforeAll(async () => {
    sim = await startSimulator({ devices: 5, rateLimitPerMinute: 0 });
    harness = new Harness(sim);
    const now = Date.now();
    harness.add('main', '100000000', 'Sales phone', [
      [now - 9 * D, 'connected'],
      [now - 2 * D, 'disconnected'],
      [now - 2 * D + 25 * 60_000, 'connected'],
    ]);
    harness.add('main', '100000001', 'Support phone', [
      [now - 9 * D, 'connected'],
      [now - 3 * D, 'disconnected'],
      [now - 3 * D + 2 * H, 'connected'],
    ]);
    harness.add('main', '100000002', 'Warehouse tablet', [[now - 9 * D, 'connected']]);
    harness.add('main', '100000003', 'Front desk', [
      [now - 9 * D, 'connected'],
      [now - 20 * H, 'not_initialized'],
      [now - 19 * H, 'connected'],
    ]);
    harness.add('legacy', '100000004', 'Old shop phone', [[now - 9 * D, 'connected']]);
    sim.setStatus('100000001', 'disconnected');
    await harness.checkAll();
    // A name a DNS-rebinding page would own, pointed at the loopback address.
    browser = await launchChromium(['--host-resolver-rules=MAP rebind.test 127.0.0.1']);
    mkdirSync(DOCS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.close()));
    await harness?.close();
    await sim?.close();
  });

  async function serve(options: { basicAuth?: typeof BASIC_AUTH; host?: string } = {}): Promise<string> {
    const server = await startHttpServer({
      host: options.host ?? '127.0.0.1',
      port: 0,
      handlers: harness.handlers(),
      log: quiet,
      basicAuth: options.basicAuth ?? null,
      // Fast for the test; the page behaves the same at the default pace.
      relink: { pollMs: 200, checkSoonEveryMs: 100, qrCacheMs: 0 },
    });
    servers.push(server);
    return server.url.replace('0.0.0.0', '127.0.0.1');
  }

  async function open(
    url: string,
    viewport: { width: number; height: number },
    extra: Parameters<Browser['newContext']>[0] = {},
  ): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({
      viewport,
      deviceScaleFactor: 1,
      timezoneId: 'Europe/Berlin',
      ...extra,
    });
    const page = await context.newPage();
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    return { context, page };
  }

  it('status page: lists every device, shows the DOWN one as down, account problems on top', async () => {
    const url = await serve();
    const { context, page } = await open(`${url}/`, { width: 1200, height: 760 });
    try {
      await page.waitForSelector('#devices');
      const rows = page.locator('#devices tbody tr');
      expect(await rows.count()).toBe(5);
      const down = page.locator('tr[data-device="100000001"]');
      expect(await down.getAttribute('data-state')).toBe('DOWN');
      expect(await down.getAttribute('class')).toBe('down');
      expect(await down.locator('.badge').innerText()).toBe('DOWN');
      expect(await down.locator('.status').innerText()).toBe('disconnected');
      // DOWN devices come first
      expect(await rows.first().getAttribute('data-device')).toBe('100000001');
      expect(await page.locator('tr[data-device="100000002"] .badge').innerText()).toBe('UP');
      expect(await page.locator('#count-down').innerText()).toBe('1 DOWN');
      const alert = page.locator('.alert.bad');
      expect(await alert.innerText()).toContain('Account legacy unreachable');
      expect(await alert.innerText()).toContain('invalid Access-Token');
      expect(await page.locator('tr[data-device="100000001"] a.relink').getAttribute('href')).toBe(
        'reconnect/100000001',
      );
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
      expect(await page.locator('#refresh-note').innerText()).toBe('refreshes every 30 s');
      await page.screenshot({ path: `${DOCS}status-page.png`, fullPage: true });

      // On a phone the table turns into cards.
      await page.setViewportSize({ width: 390, height: 800 });
      // (string expressions: the project's types have no DOM lib)
      expect(await page.locator('thead').isVisible()).toBe(false);
      expect(
        await page.evaluate<string>(
          `getComputedStyle(document.querySelector('tr[data-device="100000001"]')).display`,
        ),
      ).toBe('block');
      await page.screenshot({ path: `${DOCS}status-page-phone.png`, fullPage: true });
    } finally {
      await context.close();
    }
  });

  it('status page: reloads every 30 s by script; the pause button (keyboard, aria-pressed) stops it', async () => {
    const url = await serve();
    const context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    try {
      await context.clock.install();
      const page = await context.newPage();
      await page.goto(`${url}/`);
      const reloaded = async (ms: number): Promise<boolean> => {
        await page.evaluate('window.__sameDocument = true');
        await page.clock.runFor(ms);
        await page.waitForLoadState('load');
        return (await page.evaluate<boolean | undefined>('window.__sameDocument')) !== true;
      };
      expect(await reloaded(29_000)).toBe(false);
      const loads = new Promise((resolve) => page.once('load', resolve));
      await page.clock.runFor(2_000);
      await loads;
      expect(await page.evaluate<boolean | undefined>('window.__sameDocument')).toBeUndefined();

      // The first stop of the Tab key; Space toggles it.
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string>('document.activeElement.id')).toBe('refresh-pause');
      const pause = page.locator('#refresh-pause');
      expect(await pause.getAttribute('aria-pressed')).toBe('false');
      await page.keyboard.press('Space');
      expect(await pause.getAttribute('aria-pressed')).toBe('true');
      expect(await page.locator('#refresh-note').innerText()).toBe('auto-refresh paused');
      expect(await reloaded(5 * 60_000)).toBe(false);

      await page.keyboard.press('Enter');
      expect(await pause.getAttribute('aria-pressed')).toBe('false');
      const again = new Promise((resolve) => page.once('load', resolve));
      await page.clock.runFor(31_000);
      await again;
    } finally {
      await context.close();
    }
  });

  it('status page: no JavaScript, no reload — a "refresh" link instead, and no dead button', async () => {
    const url = await serve();
    const { context, page } = await open(
      `${url}/`,
      { width: 1200, height: 760 },
      { javaScriptEnabled: false },
    );
    try {
      expect(await page.locator('#refresh-pause').isVisible()).toBe(false);
      expect(await page.locator('.refresh a', { hasText: 'refresh' }).getAttribute('href')).toBe('./');
      expect(await page.locator('#refresh-note').innerText()).toBe('not refreshing by itself');
    } finally {
      await context.close();
    }
  });

  // Issue 16: LAST CHANGES overflowed between the phone layout (≤ 880 px since the delivery
  // column) and about 1100 px.
  it.each([761, 900, 1100, 1280])('status page at %i px: no sideways scroll', async (width) => {
    const url = await serve();
    const { context, page } = await open(`${url}/`, { width, height: 800 });
    try {
      expect(await page.evaluate<number>(SCROLL_WIDTH)).toBeLessThanOrEqual(width);
      // The table's own box too: it clips (overflow:hidden), so a cell running past it hides text.
      const table = await page.evaluate<number[]>(
        `(() => { const t = document.getElementById('devices'); return [t.scrollWidth, t.clientWidth]; })()`,
      );
      expect(table[0]).toBeLessThanOrEqual(table[1]! + 2);
    } finally {
      await context.close();
    }
  });

  it.each(['status page', 're-link page'])(
    '%s: axe finds no critical or serious violations',
    async (which) => {
      sim.setStatus('100000001', 'disconnected');
      const url = await serve();
      // bypassCSP: axe is injected as a script the page's CSP (nonce only) would refuse.
      const path = which === 'status page' ? '/' : '/reconnect/100000001';
      const { context, page } = await open(
        `${url}${path}`,
        { width: 1200, height: 800 },
        { bypassCSP: true },
      );
      try {
        if (which === 're-link page') await page.waitForSelector('#relink[data-state="qr"]');
        await page.addScriptTag({ path: AXE });
        const violations = await page.evaluate<{ id: string; impact: string; nodes: string[] }[]>(
          `axe.run().then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html.slice(0, 120)) })))`,
        );
        expect(violations.filter((v) => v.impact === 'critical' || v.impact === 'serious')).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it('re-link page without JavaScript: says it needs JavaScript and names the connect command', async () => {
    const url = await serve();
    const { context, page } = await open(
      `${url}/reconnect/100000001`,
      { width: 620, height: 900 },
      { javaScriptEnabled: false },
    );
    try {
      const body = await page.locator('body').innerText();
      expect(body).not.toContain('Fetching a QR code');
      expect(body).not.toContain('QR code loading');
      expect(body).toContain('needs JavaScript to fetch live QR codes');
      expect(await page.locator('noscript code, .nojs code').first().innerText()).toBe(
        'whatsgate-monitor connect 100000001',
      );
    } finally {
      await context.close();
    }
  });

  it('re-link page: shows a QR code, then "connected" once the phone has scanned it', async () => {
    sim.setStatus('100000001', 'disconnected');
    const url = await serve();
    const { context, page } = await open(`${url}/reconnect/100000001`, { width: 620, height: 900 });
    try {
      await page.waitForSelector('img#qr[src^="data:image/png;base64,"]');
      expect(await page.locator('#relink').getAttribute('data-state')).toBe('qr');
      expect(await page.evaluate<number>(`document.getElementById('qr').naturalWidth`)).toBeGreaterThan(20);
      expect((await page.locator('img#qr').boundingBox())?.width).toBeGreaterThanOrEqual(300); // shown large
      await page.locator('#countdown', { hasText: /A new code follows in \d+ s/ }).waitFor();
      await page.screenshot({ path: `${DOCS}reconnect-page.png`, fullPage: true });

      sim.scan('100000001');
      await page.waitForSelector('#relink[data-state="connected"]');
      expect(await page.locator('#headline').innerText()).toBe('Connected');
      expect(await page.locator('#detail').innerText()).toContain('Support phone is connected');
      expect(await page.locator('img#qr').isVisible()).toBe(false);
    } finally {
      await context.close();
    }
  });

  it('re-link page: says so at once when the device is already connected', async () => {
    const url = await serve();
    const { context, page } = await open(`${url}/reconnect/100000002`, { width: 620, height: 900 });
    try {
      await page.waitForSelector('#relink[data-state="connected"]');
      expect(await page.locator('#headline').innerText()).toBe('Connected');
    } finally {
      await context.close();
    }
  });

  it('re-link page: fetches a bounded number of codes per visit, then asks for a reload', async () => {
    sim.setStatus('100000003', 'not connected');
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      handlers: harness.handlers(),
      log: quiet,
      relink: { pollMs: 200, qrCacheMs: 0, qrRefreshAfterMs: 300, maxQrFetchesPerVisit: 3 },
    });
    servers.push(server);
    const before = sim.stats().requests.connect;
    const { context, page } = await open(`${server.url}/reconnect/100000003`, { width: 620, height: 900 });
    try {
      await page.waitForSelector('#relink[data-state="paused"]');
      expect(sim.stats().requests.connect - before).toBe(3);
      expect(await page.locator('#detail').innerText()).toContain('Reload the page');
      expect(await page.locator('#reload').isVisible()).toBe(true);
    } finally {
      await context.close();
      sim.setStatus('100000003', 'connected');
    }
  });

  // Issue 11 item 7: a page whose name resolves to 127.0.0.1 used to get a live QR code.
  it('DNS rebinding: a foreign name gets 421 and no QR code, without basic auth', async () => {
    sim.setStatus('100000001', 'disconnected');
    const url = await serve();
    const port = new URL(url).port;
    const before = sim.stats().requests.connect;
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const response = await page.goto(`http://rebind.test:${port}/reconnect/100000001`);
      expect(response?.status()).toBe(421);
      expect(await page.locator('body').innerText()).toContain('misdirected request');
      // The attacker's script, same-origin with rebind.test, asks for the JSON directly.
      const answers = await page.evaluate<string[]>(`Promise.all(
        ['/reconnect/100000001/qr', '/', '/api/v1/devices'].map((p) => fetch(p).then((r) => String(r.status))),
      )`);
      expect(answers).toEqual(['421', '421', '421']);
      expect(sim.stats().requests.connect).toBe(before);
    } finally {
      await context.close();
    }
  });

  it('basic auth: 401 without credentials, both pages with them', async () => {
    sim.setStatus('100000000', 'not connected');
    const url = await serve({ basicAuth: BASIC_AUTH, host: '0.0.0.0' });
    const anonymous = await browser.newContext();
    try {
      const page = await anonymous.newPage();
      // /healthz stays open; from there, the browser's own requests to everything else get 401.
      expect((await page.goto(`${url}/healthz`))?.status()).toBe(200);
      const answers = await page.evaluate(async () => {
        const paths = ['/', '/reconnect/100000000', '/reconnect/100000000/qr', '/api/v1/devices', '/metrics'];
        return Promise.all(
          paths.map(async (p) => {
            // `omit`: the browser must not answer the challenge itself (headless, it would wait).
            const res = await fetch(p, { credentials: 'omit' });
            return `${res.status} ${res.headers.get('www-authenticate') ?? ''}`;
          }),
        );
      });
      expect(answers).toEqual(Array(5).fill('401 Basic realm="whatsgate-monitor"'));
      // Navigating there is refused: headless Chromium cannot prompt for the challenge.
      const other = await anonymous.newPage();
      await expect(other.goto(`${url}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    } finally {
      await anonymous.close();
    }
    const { context, page } = await open(
      `${url}/`,
      { width: 1000, height: 700 },
      {
        httpCredentials: { username: 'ops', password: 'password' },
      },
    );
    try {
      expect(await page.locator('#devices tbody tr').count()).toBe(5);
      expect((await page.goto(`${url}/reconnect/100000000`))?.status()).toBe(200);
      await page.waitForSelector('img#qr[src^="data:image/png;base64,"]');
    } finally {
      await context.close();
      sim.setStatus('100000000', 'connected');
    }
  });
});

if (!HAVE_CHROMIUM) {
  describe('pages in a real browser (unavailable)', () => {
    // In CI a missing browser fails the run; elsewhere the tests are reported as skipped.
    (IN_CI ? it : it.skip)(
      `${CHROMIUM} is missing: apt-get install chromium to run the browser tests`,
      () => {
        throw new Error(
          `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`,
        );
      },
    );
  });
}

// The operator commands through the real binary against the simulator: connect, delete, audit.

import { mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { openSqliteStore } from '../src/store/sqlite-store.js';
import { runCli } from './support/cli.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Walks the chunks (CRCs checked), reads IHDR and inflates IDAT: the image really decodes. */
function decodePng(png: Buffer): { width: number; height: number; rawBytes: number } {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  let offset = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  let ended = false;
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString('latin1');
    const data = png.subarray(offset + 8, offset + 8 + length);
    const crc = png.readUInt32BE(offset + 8 + length);
    expect(crc32(png.subarray(offset + 4, offset + 8 + length)) >>> 0, `CRC of ${type}`).toBe(crc);
    if (offset === 8) expect(type).toBe('IHDR');
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  expect(ended).toBe(true);
  if (ihdr === undefined) throw new Error('no IHDR');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  const bitDepth = ihdr.readUInt8(8);
  const colorType = ihdr.readUInt8(9);
  const interlace = ihdr.readUInt8(12);
  expect(width).toBeGreaterThan(20);
  expect(height).toBeGreaterThan(20);
  expect(interlace).toBe(0);
  const channels = CHANNELS[colorType];
  if (channels === undefined) throw new Error(`colour type ${colorType}`);
  const raw = inflateSync(Buffer.concat(idat));
  // One filter byte per scanline, then the packed pixels.
  expect(raw.length).toBe(height * (1 + Math.ceil((width * bitDepth * channels) / 8)));
  return { width, height, rawBytes: raw.length };
}

describe('operator commands (real binary, simulator)', () => {
  let sim: Simulator;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    sim = await startSimulator({ devices: 3, rateLimitPerMinute: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wgm-operator-'));
    mkdirSync(join(dir, 'state'));
    configFile = join(dir, 'config.yml');
    writeFileSync(
      configFile,
      `state_dir: ${join(dir, 'state')}
accounts:
  - name: main
    base_url: ${sim.baseUrl}
    token: ${sim.token}
    devices:
      - number: "100000000"
        name: Sales phone
      - number: "+100000001"
        name: Support phone
      - number: "100000002"
        name: Spare phone
      - number: "999999999"
        name: Ghost phone
`,
    );
    for (const d of ['100000000', '100000001', '100000002']) sim.setStatus(d, 'connected');
  });

  const cli = (args: string[], input?: string) =>
    runCli([...args, '--config', configFile], { cwd: dir, ...(input === undefined ? {} : { input }) });

  describe('connect', () => {
    it('writes a valid PNG under the default name and says how long it lives', async () => {
      sim.setStatus('100000001', 'not connected');
      const r = await cli(['connect', 'Support phone']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const file = join(dir, 'whatsgate-100000001-qr.png');
      expect(r.stdout).toContain(`QR code for Support phone (100000001, account main) written to ${file}`);
      expect(r.stdout).toContain('expires in about 60 s');
      expect(r.stdout).toContain('one API call');
      const image = decodePng(readFileSync(file));
      expect(image.width).toBe(image.height);
    });

    it('writes to --out', async () => {
      sim.setStatus('100000000', 'disconnected');
      const r = await cli(['connect', '100000000', '--out', 'sales.png']);
      expect(r.code).toBe(0);
      decodePng(readFileSync(join(dir, 'sales.png')));
    });

    it('says so when the device is already connected: exit 0, no file', async () => {
      const r = await cli(['connect', '100000000']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Sales phone (100000000, account main) is already connected');
      expect(existsSync(join(dir, 'whatsgate-100000000-qr.png'))).toBe(false);
    });

    it('exits 1 for a device the gateway does not know', async () => {
      const r = await cli(['connect', '999999999']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'the gateway does not know Ghost phone (999999999, account main) ("device not found!")',
      );
      expect(existsSync(join(dir, 'whatsgate-999999999-qr.png'))).toBe(false);
    });

    it('exits 1 naming the reason of a probe error', async () => {
      sim.setStatus('100000002', 'not connected');
      sim.setFault('100000002', { type: 'html', httpStatus: 502 });
      try {
        const r = await cli(['connect', '100000002']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/could not get a QR code for Spare phone .*: http_5xx: HTTP 502/);
      } finally {
        sim.setFault('100000002', { type: 'none' });
      }
    });

    it('exits 2 for a device not in the config', async () => {
      const r = await cli(['connect', '123']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('device "123" is not in the configuration');
    });
  });

  describe('delete', () => {
    async function historyOf(device: string): Promise<{ from: string | null; to: string }[]> {
      const r = await cli(['history', device, '--json']);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout) as { from: string | null; to: string }[];
    }

    async function seedStatus(device: string, status: 'disconnected' | 'connected'): Promise<void> {
      const store = openSqliteStore(join(dir, 'state', 'monitor.db'));
      try {
        await store.saveDevices([
          {
            row: {
              account: 'main',
              device,
              status,
              statusRaw: status,
              health: 'UP',
              statusSince: Date.now() - 60_000,
              lastCheckAt: Date.now() - 1000,
              probeError: null,
              transitions: 0,
              state: {},
            },
            change: { account: 'main', device, at: Date.now() - 60_000, from: null, to: status, raw: status },
          },
        ]);
      } finally {
        await store.close();
      }
    }

    it('shows what will be deleted and deletes nothing when the typed text is wrong', async () => {
      const r = await cli(['delete', '100000002'], '100000001\n');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('  account:  main\n  number:   100000002\n  name:     Spare phone\n');
      expect(r.stdout).toContain('Type the device number (100000002) to confirm: ');
      expect(r.stderr).toContain('confirmation "100000001" does not match 100000002: nothing deleted');
      expect(sim.devices().map((d) => d.device)).toContain('100000002');
      expect(await historyOf('100000002')).toEqual([]);
    });

    it('refuses without a terminal and without an answer or --yes (exit 2)', async () => {
      const r = await cli(['delete', '100000002'], '');
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('refusing to delete without confirmation: stdin is not a terminal');
      expect(sim.devices().map((d) => d.device)).toContain('100000002');
    });

    it('deletes after the number is typed back, and records it in the history', async () => {
      sim.setStatus('100000002', 'disconnected');
      await seedStatus('100000002', 'disconnected');
      const r = await cli(['delete', 'Spare phone'], '+100000002\n');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('status:   disconnected since ');
      expect(r.stdout).toContain(
        'Deleted Spare phone (100000002, account main) at the gateway: Device deleted successfully',
      );
      expect(r.stdout).toContain('Recorded in the history (disconnected → deleted).');
      expect(r.stdout).toContain('remove it from the config');
      expect(sim.devices().map((d) => d.device)).not.toContain('100000002');
      expect(await historyOf('100000002')).toEqual([
        { at: expect.any(String), from: null, to: 'disconnected', raw: 'disconnected' },
        { at: expect.any(String), from: 'disconnected', to: 'deleted', raw: 'Device deleted successfully' },
      ]);
    });

    it('deletes without asking with --yes', async () => {
      sim.setStatus('100000001', 'not connected');
      const r = await cli(['delete', '100000001', '--yes']);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain('Type the device number');
      expect(sim.devices().map((d) => d.device)).not.toContain('100000001');
      expect(await historyOf('100000001')).toEqual([
        { at: expect.any(String), from: null, to: 'deleted', raw: 'Device deleted successfully' },
      ]);
      // It reads deleted from now on, until removed from the config (SPEC §5, issue 12).
      const status = await cli(['status', '--json']);
      const row = (JSON.parse(status.stdout) as { device: string; status: string; state: string }[]).find(
        (d) => d.device === '100000001',
      );
      expect(row).toMatchObject({ status: 'deleted', state: 'DOWN' });
    });

    it("reports the gateway's refusal (exit 1) and records nothing", async () => {
      const r = await cli(['delete', '999999999', '--yes']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'the gateway refused to delete Ghost phone (999999999, account main): The selected sender device is invalid.',
      );
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // reported, not a stack trace
      expect(await historyOf('999999999')).toEqual([]);
    });
  });

  describe('history', () => {
    it('pages a long history: --limit, and on stderr the command for the next page', async () => {
      const store = openSqliteStore(join(dir, 'state', 'monitor.db'));
      const now = Date.now();
      try {
        for (let i = 0; i < 5; i++) {
          const to = i % 2 === 0 ? 'disconnected' : 'connected';
          const from = i === 0 ? null : i % 2 === 0 ? 'connected' : 'disconnected';
          await store.appendHistory({
            account: 'main',
            device: '100000000',
            at: now - (5 - i) * 60_000,
            from,
            to,
            raw: to,
          });
        }
      } finally {
        await store.close();
      }
      // A small history reads as it always did: whole, nothing on stderr.
      const whole = await cli(['history', '100000000', '--json']);
      expect(whole.stderr).toBe('');
      const rows = JSON.parse(whole.stdout) as unknown[];
      expect(rows).toHaveLength(5);

      const seen: unknown[] = [];
      let args = ['history', '100000000', '--json', '--limit', '2', '--config', configFile];
      for (let pages = 1; ; pages++) {
        const r = await runCli(args, { cwd: dir });
        expect(r.code).toBe(0);
        seen.push(...(JSON.parse(r.stdout) as unknown[]));
        const next = /^more changes follow: whatsgate-monitor (.*)$/m.exec(r.stderr);
        if (next === null) {
          expect(pages).toBe(3);
          break;
        }
        args = next[1]!.split(' ');
        expect(args).toEqual(
          expect.arrayContaining(['--config', configFile, '--limit', '2', '--json', '--cursor']),
        );
      }
      expect(seen).toEqual(rows);

      const table = await cli(['history', 'Sales phone', '--limit', '1']);
      expect(table.stdout.trim().split('\n')).toHaveLength(3); // title, header, one change
      expect(table.stderr).toMatch(/^more changes follow: whatsgate-monitor history 'Sales phone' /);
      const bad = await cli(['history', '100000000', '--cursor', 'nonsense']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--cursor: not one this command printed');
      expect((await cli(['history', '100000000', '--limit', '0'])).code).toBe(2);
    });
  });

  describe('audit', () => {
    const D = 86_400_000;

    async function seedHistory(): Promise<void> {
      const now = Date.now();
      const store = openSqliteStore(join(dir, 'state', 'monitor.db'));
      try {
        const row = (
          device: string,
          status: 'connected' | 'disconnected' | 'not_connected',
          probeError: string | null = null,
        ) => ({
          account: 'main',
          device,
          status,
          statusRaw: status,
          health: 'UP' as const,
          statusSince: now - D,
          lastCheckAt: now - 1000,
          probeError,
          transitions: 1,
          state: {},
        });
        await store.saveDevices([
          {
            row: row('100000000', 'connected'),
            change: {
              account: 'main',
              device: '100000000',
              at: now - 10 * D,
              from: null,
              to: 'connected',
              raw: null,
            },
          },
          {
            row: row('100000001', 'not_connected'),
            change: {
              account: 'main',
              device: '100000001',
              at: now - 20 * D,
              from: null,
              to: 'not_connected',
              raw: null,
            },
          },
          { row: row('999999999', 'connected', 'api_error: device not found!'), change: null },
        ]);
        await store.appendHistory({
          account: 'main',
          device: '100000000',
          at: now - 2 * D,
          from: 'connected',
          to: 'disconnected',
          raw: null,
        });
        await store.appendHistory({
          account: 'main',
          device: '100000000',
          at: now - 2 * D + 3_600_000,
          from: 'disconnected',
          to: 'connected',
          raw: null,
        });
      } finally {
        await store.close();
      }
    }

    it('prints the table, the stale device with its delete command, the unknown device', async () => {
      await seedHistory();
      const r = await cli(['audit']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /^100000000\s+main\s+Sales phone\s+connected\s+99\.40 %\s+1\s+1h\s+1h\s+100 %\s+–\s+–$/m,
      );
      expect(r.stdout).toContain('Support phone (100000001, account main): not connected for 20d');
      expect(r.stdout).toContain('      whatsgate-monitor delete 100000001\n');
      expect(r.stdout).toContain('Ghost phone (999999999, account main): unknown to the gateway');
    });

    it('--json gives the documented fields', async () => {
      await seedHistory();
      const r = await cli(['audit', '--since', '3d', '--json']);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as {
        period: string;
        devices: { device: string; stale: boolean; not_found: boolean; outages: number }[];
      };
      expect(json.period).toBe('3d');
      expect(json.devices.map((d) => [d.device, d.outages, d.stale, d.not_found])).toEqual([
        ['100000000', 1, false, false],
        ['100000001', 1, true, false],
        ['100000002', 0, false, false],
        ['999999999', 0, false, true],
      ]);
    });

    it('--send delivers the report to the audit channels and reports per channel', async () => {
      const received: { event: string | undefined; body: string }[] = [];
      const hook = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (d: string) => (body += d));
        req.on('end', () => {
          received.push({ event: req.headers['x-whatsgate-event'] as string | undefined, body });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      const port = (hook.address() as AddressInfo).port;
      try {
        writeFileSync(
          configFile,
          readFileSync(configFile, 'utf8') +
            `notify:\n  default: [hook]\n  channels:\n    hook: { type: webhook, url: "http://127.0.0.1:${port}/audit" }\naudit:\n  channels: [hook]\n`,
        );
        const r = await cli(['audit', '--send']);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain('audit report to hook: sent');
        expect(received).toHaveLength(1);
        expect(received[0]!.event).toBe('audit.report');
        expect(received[0]!.body).toContain('Ghost phone');
      } finally {
        await new Promise((r) => hook.close(r));
      }
    });

    it('rejects a bad --since with exit 2', async () => {
      const r = await cli(['audit', '--since', 'soon']);
      expect(r.code).toBe(2);
    });
  });

  describe('secrets are read only by the commands that use them', () => {
    // The token lives in a file that is not on this host (a systemd credential of the service).
    beforeEach(() => {
      writeFileSync(
        configFile,
        readFileSync(configFile, 'utf8').replace(
          `token: ${sim.token}`,
          'token_file: /run/credentials/whatsgate-monitor.service/token',
        ),
      );
    });

    it.each([
      [['status'], /Sales phone/],
      [['status', '--json'], /"device": "100000000"/],
      [['history', 'Sales phone'], /no status changes recorded/],
      [['audit'], /Sales phone/],
      [['silence', 'all', '--for', '1h'], /silenced all devices/],
      [['unsilence', 'all'], /removed 1 silence/],
    ])('%j works without the token', async (args, output) => {
      if (args[0] === 'unsilence') expect((await cli(['silence', 'all', '--for', '1h'])).code).toBe(0);
      const r = await cli(args);
      expect(r.stderr).not.toMatch(/token/);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(output);
    });

    it.each([
      [['connect', 'Sales phone']],
      [['delete', 'Sales phone', '--yes']],
      [['status', '--live']],
      [['audit', '--send']],
      [['test-notify']],
    ])('%j needs it, and names the key and the file', async (args) => {
      const r = await cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        'accounts[0].token_file: cannot read /run/credentials/whatsgate-monitor.service/token: no such file',
      );
    });
  });

  describe('status --live', () => {
    it('labels the live answer apart from the stored state, with a footer saying which is which', async () => {
      sim.setStatus('100000001', 'disconnected');
      const r = await cli(['status', '--live']);
      expect(r.code).toBe(0);
      const [header] = r.stdout.split('\n');
      expect(header).toMatch(
        /^ACCOUNT\s+DEVICE\s+NAME\s+LIVE \(CHECKED NOW\)\s+STORED STATUS\s+STORED STATE\s+SINCE\s+LAST STORED CHECK\s/,
      );
      // Nothing stored yet (the daemon has not run): the live answer stands alone in its column.
      expect(r.stdout).toMatch(/^main\s+100000001\s+Support phone\s+disconnected\s+-\s+not checked yet\s/m);
      expect(r.stdout).toMatch(/^main\s+999999999\s+Ghost phone\s+not_found\s+-\s+not checked yet\s/m);
      expect(r.stdout).toContain(
        'LIVE: the gateway asked just now, not recorded. STORED: the daemon’s last check',
      );
    });

    it('--json keeps the stored fields and adds live_status beside them', async () => {
      sim.setStatus('100000001', 'disconnected');
      const r = await cli(['status', '--live', '--json']);
      expect(r.code).toBe(0);
      const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
      const support = rows.find((row) => row['device'] === '100000001');
      expect(support).toMatchObject({
        status: null,
        state: null,
        last_check: null,
        live_status: 'disconnected',
        live_status_raw: 'disconnected',
        live_error: null,
      });
      expect(Date.parse(String(support?.['live_checked_at']))).toBeGreaterThan(Date.now() - 60_000);
      // Without --live there are no live fields at all.
      const stored = JSON.parse((await cli(['status', '--json'])).stdout) as Record<string, unknown>[];
      expect(Object.keys(stored[0] ?? {})).not.toContain('live_status');
    });
  });
});

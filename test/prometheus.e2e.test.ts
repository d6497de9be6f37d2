import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/server.js';
import { DaemonProcess, tempDir, writeConfig } from './support/daemon.js';
import { eventually, freePort } from './support/ports.js';

// A real Prometheus (Debian's package) scrapes the real daemon watching the simulator; a device
// flipped to `disconnected` must read back through Prometheus's query API.

const PROMETHEUS = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';
const dropped = '491700001';

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Prometheus scraping the daemon', () => {
  let sim: Simulator;
  let dir: string;
  let daemon: DaemonProcess | undefined;
  let prometheus: ChildProcess | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ devices: 2, first: '491700000', rateLimitPerMinute: 0 });
    dir = tempDir('wgm-prom-');
  });

  afterAll(async () => {
    daemon?.kill('SIGKILL');
    prometheus?.kill('SIGKILL');
    await daemon?.exited; // rejects on a log line with a repeated key
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads whatsgate_device_status{status="disconnected"} == 1 back through the query API', async (ctx) => {
    if (!existsSync(PROMETHEUS)) {
      if (process.env['CI']) throw new Error(`${PROMETHEUS} missing; .ci/run installs Debian's prometheus`);
      ctx.skip(`${PROMETHEUS} not installed (apt-get install prometheus)`);
    }
    const config = writeConfig(
      dir,
      `state_dir: ${join(dir, 'state')}
listen: 127.0.0.1:0
schedule: "* * * * * *"
defaults: { interval: 1s, timeout: 2s, failure_threshold: 1 }
accounts:
  - name: main
    base_url: ${sim.baseUrl}
    token: ${sim.token}
    rate_limit: 60/min
    devices:
      - { number: "491700000", name: First }
      - { number: "${dropped}", name: Sales phone, labels: { team: sales } }
`,
    );
    daemon = DaemonProcess.start(config);
    const target = new URL(await daemon.url()).host;

    const promPort = await freePort();
    const promConfig = join(dir, 'prometheus.yml');
    writeFileSync(
      promConfig,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: whatsgate-monitor
    static_configs: [{ targets: ["${target}"] }]
`,
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${promConfig}`,
        `--storage.tsdb.path=${join(dir, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const query = async (q: string): Promise<QueryResult['data']['result']> => {
      const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as QueryResult;
      return body.data.result;
    };

    // The scrape works and the configured devices are there before any drop.
    await eventually('the first scrape', async () => {
      const r = await query('whatsgate_device_info');
      return r.length === 2 ? r : undefined;
    });

    sim.setStatus(dropped, 'disconnected');
    const result = await eventually('the drop in Prometheus', async () => {
      const r = await query('whatsgate_device_status{status="disconnected"} == 1');
      return r.length > 0 ? r : undefined;
    });
    expect(result).toHaveLength(1);
    expect(result[0]!.metric).toMatchObject({ account: 'main', device: dropped, job: 'whatsgate-monitor' });

    // The name joins in through device_info, as README documents.
    const joined = await query(
      'whatsgate_device_up * on(account, device) group_left(name) whatsgate_device_info == 0',
    );
    expect(joined.map((r) => r.metric['name'])).toEqual(['Sales phone']);
  });
});

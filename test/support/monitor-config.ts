// The config file the end-to-end tests give the daemon: one account `main` on the simulator,
// checked every second by the second-level schedule, debug logs — and what each test varies.

import { writeConfig } from './daemon.js';

export interface MonitorConfig {
  readonly stateDir: string;
  readonly baseUrl: string;
  readonly rateLimit: string;
  /** Each device's flow mapping, `{ number: "…", name: … }`. */
  readonly devices: readonly string[];
  readonly schedule?: string;
  /** `1s` unless set. */
  readonly interval?: string;
  /** 1 unless set. */
  readonly failureThreshold?: number;
  readonly successThreshold?: number;
  readonly concurrency?: number;
  /** YAML after the accounts (`notify:` …), ending in a newline. */
  readonly rest?: string;
}

/** The YAML text; the account's token is `${WG_TOKEN}`. */
export function monitorYaml(o: MonitorConfig): string {
  const success = o.successThreshold === undefined ? '' : `  success_threshold: ${o.successThreshold}\n`;
  const concurrency = o.concurrency === undefined ? '' : `    concurrency: ${o.concurrency}\n`;
  return `state_dir: ${o.stateDir}
listen: 127.0.0.1:0
schedule: "${o.schedule ?? '* * * * * *'}"
log_level: debug
defaults:
  interval: ${o.interval ?? '1s'}
  timeout: 2s
  failure_threshold: ${o.failureThreshold ?? 1}
${success}  repeat_interval: 0
accounts:
  - name: main
    base_url: ${o.baseUrl}
    token: \${WG_TOKEN}
    rate_limit: ${o.rateLimit}
${concurrency}    devices:
${o.devices.map((d) => `      - ${d}`).join('\n')}
${o.rest ?? ''}`;
}

/** `monitorYaml` written to `dir/config.yml`; its path. */
export function writeMonitorConfig(dir: string, o: MonitorConfig): string {
  return writeConfig(dir, monitorYaml(o));
}

/** Every message to one webhook channel `hook`, at once (not a grouping test). */
export function webhookNotify(url: string): string {
  return `notify:
  # Not a grouping test: every message goes out at once.
  group_wait: 0s
  group_interval: 0s
  default: [hook]
  channels:
    hook: { type: webhook, url: "${url}", timeout: 5s }
`;
}

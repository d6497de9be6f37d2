// Every PromQL query the README and docs/operations.md print must work against what Prometheus
// really holds: one scraped instance, and two (shards, HA replicas, or one monitor scraped twice),
// where a join on whatsgate_device_info without aggregation fails with "many-to-many matching".
// promtool evaluates each query as a recording rule over a small fixture; a query that errors
// records nothing, and its `count` is then empty.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { needPromtool, promtool } from '../src/metrics/test-support/promtool.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCS = ['README.md', 'docs/operations.md'];

/** Every non-comment line of every ```promql block. */
function queries(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(/```promql\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
  );
}

/** Two devices of account main: Sales phone (team sales) DOWN, Support UP; one error rate. */
function series(instances: readonly string[]): { series: string; values: string }[] {
  return instances.flatMap((instance, i) => {
    const at = `job="whatsgate-monitor",instance="${instance}"`;
    return [
      {
        series: `whatsgate_device_info{${at},account="main",device="1",name="Sales phone",team="sales"}`,
        values: '1x20',
      },
      {
        series: `whatsgate_device_info{${at},account="main",device="2",name="Support",team="support"}`,
        values: '1x20',
      },
      { series: `whatsgate_device_up{${at},account="main",device="1"}`, values: '0x20' },
      { series: `whatsgate_device_up{${at},account="main",device="2"}`, values: '1x20' },
      ...['connected', 'disconnected'].flatMap((status) => [
        {
          series: `whatsgate_device_status{${at},account="main",device="1",status="${status}"}`,
          values: status === 'disconnected' ? '1x20' : '0x20',
        },
        {
          series: `whatsgate_device_status{${at},account="main",device="2",status="${status}"}`,
          values: status === 'connected' ? '1x20' : '0x20',
        },
      ]),
      { series: `whatsgate_check_errors_total{${at},account="main",reason="timeout"}`, values: '0+1x20' },
      // HA: the first instance holds the lease, any other stands by.
      { series: `whatsgate_monitor_leader{${at}}`, values: i === 0 ? '1x20' : '0x20' },
    ];
  });
}

describe('PromQL in the docs', () => {
  const all = DOCS.flatMap((file) => queries(file).map((query) => ({ file, query })));

  it('finds the queries', () => {
    expect(all.length).toBeGreaterThanOrEqual(6);
  });

  it.for([
    ['one scraped instance', ['a:8749']],
    ['two scraped instances', ['a:8749', 'b:8749']],
  ] as const)('every query returns series with %s, names where it joins them', ([, instances], ctx) => {
    needPromtool(ctx);
    const dir = mkdtempSync(join(tmpdir(), 'wgm-promql-'));
    const rules = all.map(({ query }, i) => ({ record: `docs:query_${i}`, expr: query }));
    writeFileSync(join(dir, 'rules.yml'), stringify({ groups: [{ name: 'docs', interval: '1m', rules }] }));
    const tests = all.map(({ query }, i) => {
      // A query that failed recorded nothing: count() is then empty, not 1.
      const named = query.includes('group_left(name)') ? '{name!=""}' : '';
      return {
        expr: `count(docs:query_${i}${named}) > bool 0`,
        eval_time: '10m',
        exp_samples: [{ labels: '{}', value: 1 }],
      };
    });
    writeFileSync(
      join(dir, 'test.yml'),
      stringify({
        rule_files: [join(dir, 'rules.yml')],
        evaluation_interval: '1m',
        tests: [{ interval: '1m', input_series: series(instances), promql_expr_test: tests }],
      }),
    );
    const r = promtool(['test', 'rules', join(dir, 'test.yml')]);
    const failing = all
      .map(({ file, query }, i) => ({ file, query, i }))
      .filter(({ i }) => r.stdout.includes(`docs:query_${i}`) || r.stderr.includes(`docs:query_${i}`));
    expect(failing.map(({ file, query }) => `${file}: ${query}`)).toEqual([]);
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });
});

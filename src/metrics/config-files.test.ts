// The shipped dashboard and alert rules must only name metrics the exporter really writes, and
// the dashboard's queries must be valid PromQL (checked by promtool, variables filled in).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Metrics } from './metrics.js';
import { account, device, fakeSource } from './test-support/fixtures.js';
import { parseExposition } from './test-support/exposition-parser.js';
import { needPromtool, promtool } from './test-support/promtool.js';

const read = (rel: string): string => readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');
const ALERTS = read('../../config/prometheus/alerts.yml');
const DASHBOARD = read('../../config/grafana/dashboard.json');

interface Target {
  expr?: string;
}
interface Panel {
  title?: string;
  targets?: Target[];
}

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(DASHBOARD) as { panels: Panel[] };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
}

/** Metric names a text mentions, histogram sample suffixes folded into the family. */
function mentionedMetrics(text: string): Set<string> {
  const names = text.match(/\b(?:whatsgate|process|nodejs)_[a-z0-9_]+/g) ?? [];
  return new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, '')));
}

async function exportedFamilies(): Promise<Set<string>> {
  const metrics = new Metrics({
    source: fakeSource([device()], [account()]),
    version: 'x',
    channels: ['ops'],
  });
  return new Set(parseExposition(await metrics.render()).keys());
}

describe('shipped Prometheus and Grafana files', () => {
  it.each([
    ['alerts.yml', ALERTS],
    ['dashboard.json', DASHBOARD],
  ])('%s names only metrics the exporter writes', async (_file, text) => {
    const exported = await exportedFamilies();
    const unknown = [...mentionedMetrics(text)].filter((n) => !exported.has(n));
    expect(unknown).toEqual([]);
  });

  it('the dashboard is importable: schema, datasource variable, account template, unique ids', () => {
    const d = JSON.parse(DASHBOARD) as {
      schemaVersion: number;
      uid: string;
      panels: { id: number; datasource?: { uid: string } }[];
      templating: { list: { name: string; type: string }[] };
    };
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.templating.list.map((v) => [v.name, v.type])).toEqual([
      ['datasource', 'datasource'],
      ['job', 'query'],
      ['account', 'query'],
    ]);
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of d.panels) if (p.datasource) expect(p.datasource.uid).toBe('${datasource}');
  });

  it('every dashboard query is valid PromQL', (ctx) => {
    needPromtool(ctx);
    const exprs = dashboardExprs().map((e) =>
      e
        .replaceAll('$__rate_interval', '5m')
        .replaceAll('$__range', '1h')
        .replaceAll('$job', '.*')
        .replaceAll('$account', '.*'),
    );
    expect(exprs.length).toBeGreaterThan(10);
    const dir = mkdtempSync(join(tmpdir(), 'whatsgate-dashboard-'));
    try {
      const file = join(dir, 'exprs.yml');
      const rules = exprs.map((expr, i) => ({ record: `dashboard:expr_${i}`, expr }));
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = promtool(['check', 'rules', file]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

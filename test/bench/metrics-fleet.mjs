// The fleet the metrics bench exports: what the daemon holds per device, the MetricsSource over
// it (as each version's FleetMetricsSource maps it), and the same series as plain prom-client
// gauges — the baseline a Prometheus user would write.

const STATUSES = ['connected', 'disconnected', 'not_connected', 'not_initialized', 'not_found', 'unknown'];
const PROBLEMS = ['stalled', 'failing', 'balance_low'];
const NOW = Date.UTC(2024, 10, 24, 12, 0, 0);

/**
 * What the daemon holds in memory per device (the source maps it at scrape time). As in the
 * daemon once a cycle has run, every answered device also has a balance reading, so each has
 * all 20 series (info, 6 states, up, probe, last check, since, transitions, silenced, 4 readings,
 * 3 problems): the bench's bytes per device are the daemon's.
 */
export function makeState(n) {
  const devices = [];
  for (let i = 0; i < n; i += 1) {
    const read = i % 50 !== 0;
    devices.push({
      account: `account-${i % 500}`,
      number: String(100_000_000 + i),
      name: `Device ${i} "front desk"`,
      labels: { team: `team-${i % 7}`, site: `site-${i % 13}` },
      status: i % 50 === 0 ? null : STATUSES[i % 6],
      health: i % 9 === 0 ? 'DOWN' : 'UP',
      probeOk: i % 50 === 0 ? null : i % 11 !== 0,
      lastCheckAt: i % 50 === 0 ? null : NOW - ((i * 7919) % 60_000),
      since: i % 50 === 0 ? null : NOW - i * 3_607,
      transitions: i % 17,
      silencedUntil: i % 23 === 0 ? NOW + 3_600_000 : null,
      delivery: read
        ? { pending: i % 40, successful: 900 + i, failed: i % 5, remaining: 5000 - (i % 4000) }
        : null,
      problems: read ? PROBLEMS.filter((_, k) => (i >> k) & 1) : [],
    });
  }
  return devices;
}

/** The view of one device, written into `view` and `slot` (reused: ours) or fresh objects (before). */
function fillView(view, slot, d) {
  view.account = d.account;
  view.device = d.number;
  view.name = d.name;
  view.labels = d.labels;
  view.status = d.status;
  view.up = d.status === null ? null : d.health === 'UP';
  view.probeSuccess = d.probeOk;
  view.lastCheckAt = d.lastCheckAt;
  view.statusSince = d.since;
  view.transitions = d.transitions;
  view.silenced = d.silencedUntil !== null && d.silencedUntil > NOW;
  // Field by field, as the daemon's DeliveryViewSlot reads a device's state (Object.assign with a
  // fresh { problems } cost the bench ~5 ms a scrape at 100,000 devices that the daemon does not pay).
  if (d.delivery === null) view.delivery = null;
  else {
    slot.pending = d.delivery.pending;
    slot.successful = d.delivery.successful;
    slot.failed = d.delivery.failed;
    slot.remaining = d.delivery.remaining;
    slot.problems = d.problems;
    view.delivery = slot;
  }
  return view;
}

/** Like the daemon's FleetMetricsSource of each version: one view reused (ours), or fresh ones. */
export function makeSource(state, reuseView) {
  const accounts = [...new Set(state.map((d) => d.account))];
  return {
    *devices() {
      const [view, slot] = [{}, {}];
      for (const d of state) yield reuseView ? fillView(view, slot, d) : fillView({}, {}, d);
    },
    accounts: () =>
      accounts.map((account) => ({
        account,
        reachable: true,
        intervalMs: 60_000,
        effectiveIntervalMs: 60_000,
        lastCycleDurationMs: 5_000,
      })),
    notificationsPending: () => [{ channel: 'ops', pending: 0 }],
    store: () => ({ writable: true }),
  };
}

/** The same device series as prom-client gauges/counters, set once as a daemon would keep them. */
export async function plainRegistry(state) {
  const { Counter, Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const id = ['account', 'device'];
  const gauge = (name, extra = []) =>
    new Gauge({ name, help: name, labelNames: [...id, ...extra], registers });
  const info = gauge('whatsgate_device_info', ['name', 'team', 'site']);
  const status = gauge('whatsgate_device_status', ['status']);
  const [up, probe, last, since, silenced] = ['up', 'probe_success', 'last_check', 'since', 'silenced'].map(
    (s) => gauge(`whatsgate_device_${s}`),
  );
  const reading = ['pending', 'successful', 'failed', 'remaining'].map((s) => gauge(`whatsgate_device_${s}`));
  const problem = gauge('whatsgate_device_delivery_problem', ['problem']);
  const transitions = new Counter({
    name: 'whatsgate_device_transitions_total',
    help: 't',
    labelNames: id,
    registers,
  });
  for (const d of state) {
    const l = { account: d.account, device: d.number };
    info.set({ ...l, name: d.name, ...d.labels }, 1);
    if (d.status !== null) for (const s of STATUSES) status.set({ ...l, status: s }, d.status === s ? 1 : 0);
    if (d.status !== null) up.set(l, d.health === 'UP' ? 1 : 0);
    if (d.probeOk !== null) probe.set(l, d.probeOk ? 1 : 0);
    if (d.lastCheckAt !== null) last.set(l, d.lastCheckAt / 1000);
    if (d.since !== null) since.set(l, d.since / 1000);
    transitions.inc(l, d.transitions);
    silenced.set(l, d.silencedUntil !== null && d.silencedUntil > NOW ? 1 : 0);
    if (d.delivery === null) continue;
    ['pending', 'successful', 'failed', 'remaining'].forEach((k, i) => reading[i].set(l, d.delivery[k]));
    for (const p of PROBLEMS) problem.set({ ...l, problem: p }, d.problems.includes(p) ? 1 : 0);
  }
  return registry;
}

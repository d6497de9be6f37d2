// When polling has seen enough for `/readyz` to say 200 (SPEC §6: "the first cycle finished").
// Under the budget a cycle checks only the devices due, so "the first tick ended" says little;
// ready means every configured device has been checked once since start (a valid answer or a
// probe error: either way the monitor knows what it can see), or one round has passed since
// start — the most any device waits for its first check (devices the gateway does not know,
// checked 10 × less often, excepted: see AccountPoller.roundMs).
//
// One condition among others: the daemon ANDs it with its own (started, not stopping, the
// store healthy).

import type { Fleet } from './fleet.js';

export function pollingReady(fleet: Fleet, startedAt: number, now: number): boolean {
  for (const poller of fleet.pollers.values()) {
    if (now - startedAt >= poller.roundMs()) continue;
    for (const rt of poller.devices.values()) {
      const checked = rt.state.lastCheckAt;
      if (checked === null || checked < startedAt) return false;
    }
  }
  return true;
}

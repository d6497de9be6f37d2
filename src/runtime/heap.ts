// The process's V8 heap: two levers the daemon pulls for large fleets (issue 17).
//
// - A full collection right after a large config is parsed. The YAML library's parse tree for a
//   100,000-device file is ~250 MB live at its last collection, and V8 sets its next limit from
//   that: without this, the heap grows to ~900 MB of parse garbage and new state before it looks
//   again (RSS peak 1.0 GB at start-up in bench:poll:100k; 585 MB with it).
// - A cap on how far the heap may grow past its live size between full collections, for fleets
//   large enough for the headroom to matter. V8 picks up to 4× live on its own when allocation is
//   fast, which at 100k devices (125 MB live) is 500 MB of garbage held as RSS.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Devices from which the heap growth cap applies: below, V8's headroom is a few dozen MB. */
export const CAPPED_GROWTH_FROM_DEVICES = 25_000;

/** Growth allowed past the live heap, in percent, for a capped fleet (V8's own range is 10–300). */
export const CAPPED_GROWTH_PERCENT = 50;

/** A config text from which parsing leaves enough garbage to collect at once (~6,000 devices). */
export const LARGE_CONFIG_CHARS = 256 * 1024;

/**
 * The `--heap-growing-percent` for a fleet of `devices`: 0 (V8 decides) below
 * CAPPED_GROWTH_FROM_DEVICES, else CAPPED_GROWTH_PERCENT.
 */
export function heapGrowthPercentFor(devices: number): number {
  return devices >= CAPPED_GROWTH_FROM_DEVICES ? CAPPED_GROWTH_PERCENT : 0;
}

/**
 * Sets V8's heap growth for a fleet of `devices` (read again at each full collection, so a reload
 * that grows or shrinks the fleet takes effect). An operator's own `--heap-growing-percent` on
 * node's command line wins.
 */
export function tuneHeapGrowth(
  devices: number,
  execArgv: readonly string[] = process.execArgv,
): number | null {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return null;
  const percent = heapGrowthPercentFor(devices);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}

/**
 * A full garbage collection now. Node offers `gc()` only under `--expose-gc`; the flag is set for
 * the moment a fresh context is made (which then has `gc`) and cleared again, so scripts in the
 * process see no new global.
 */
export function collectGarbage(): void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') {
    exposed();
    return;
  }
  setFlagsFromString('--expose-gc');
  try {
    (runInNewContext('gc') as () => void)();
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

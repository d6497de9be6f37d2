// Scrapes /metrics from a process of its own, as Prometheus does: the time is the daemon's
// (request to last byte), not a decode competing with the daemon in its own process. The body is
// searched as bytes (Buffer.indexOf), so the reader costs little CPU on the shared cores.
//
//   node scrape.mjs URL   prints {"metricsMs", "metricsBytes", "skipped"} as one JSON line

import { Buffer } from 'node:buffer';
import console from 'node:console';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { request } from 'undici';

const SKIPPED = Buffer.from('\nwhatsgate_poll_cycles_skipped_total{');

const t0 = performance.now();
const res = await request(`${process.argv[2]}/metrics`);
let bytes = 0;
let skipped = 0;
// The end of the previous chunk, so a line straddling two chunks is found too.
let carry = Buffer.alloc(0);
for await (const chunk of res.body) {
  bytes += chunk.length;
  const window = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
  let at = window.indexOf(SKIPPED);
  let complete = window.length;
  while (at !== -1) {
    const end = window.indexOf(10, at + 1);
    if (end === -1) {
      complete = at;
      break;
    }
    const line = window.toString('latin1', at + 1, end);
    skipped += Number(line.slice(line.lastIndexOf(' ') + 1));
    at = window.indexOf(SKIPPED, end);
  }
  // Keep what may hold the start of a line cut off: an unfinished match, or the last bytes.
  carry = window.subarray(Math.min(complete, Math.max(0, window.length - SKIPPED.length)));
}
const metricsMs = performance.now() - t0;
console.log(JSON.stringify({ metricsMs, metricsBytes: bytes, skipped }));

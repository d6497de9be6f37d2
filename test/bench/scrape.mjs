// Scrapes /metrics from a process of its own, as Prometheus does: the time is the daemon's
// (request to last byte), not a decode competing with the daemon in its own process. The body is
// read with node:http and searched as bytes (Buffer.indexOf), never copied, so the reader costs
// little CPU on the shared cores. undici's body iterator is not used: on a server writing a
// ready 107 MB body it alone took 310–350 ms a read, where node:http took 90–125 ms and curl
// 35–90 ms, so it measured mostly itself.
//
//   node scrape.mjs URL   prints {"metricsMs", "metricsBytes", "skipped"} as one JSON line

import { Buffer } from 'node:buffer';
import console from 'node:console';
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

const SKIPPED = Buffer.from('\nwhatsgate_poll_cycles_skipped_total{');

const t0 = performance.now();
const res = await new Promise((resolve, reject) =>
  get(`${process.argv[2]}/metrics`, resolve).on('error', reject),
);
let bytes = 0;
let skipped = 0;
// Each chunk is searched as it comes. Only the start of a wanted line cut off by a chunk's end is
// kept and joined with the next chunk; joining every chunk with the last one's end copied the
// whole body once more. A family's lines are contiguous: once a line after one of them is not
// of the family, the rest is only counted (a search of all 107 MB cost the reader ~150 ms).
let pending = null;
let done = false;
for await (const received of res) {
  bytes += received.length;
  if (done) continue;
  const chunk = pending === null ? received : Buffer.concat([pending, received]);
  pending = null;
  let at = chunk.indexOf(SKIPPED);
  while (at !== -1) {
    const end = chunk.indexOf(10, at + 1);
    if (end === -1) {
      pending = chunk.subarray(at);
      break;
    }
    const line = chunk.toString('latin1', at + 1, end);
    skipped += Number(line.slice(line.lastIndexOf(' ') + 1));
    if (
      chunk.length - end >= SKIPPED.length &&
      chunk.compare(SKIPPED, 0, SKIPPED.length, end, end + SKIPPED.length) !== 0
    ) {
      done = true;
      break;
    }
    at = chunk.indexOf(SKIPPED, end);
  }
  if (pending === null && !done) {
    // The chunk may end inside the family's name: a line start that could still become a match.
    const lineStart = chunk.lastIndexOf(10);
    const tail = lineStart === -1 ? chunk.subarray(0, 0) : chunk.subarray(lineStart);
    if (tail.length > 0 && tail.length < SKIPPED.length && SKIPPED.subarray(0, tail.length).equals(tail)) {
      pending = Buffer.from(tail);
    }
  }
}
const metricsMs = performance.now() - t0;
console.log(JSON.stringify({ metricsMs, metricsBytes: bytes, skipped }));

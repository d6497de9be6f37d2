// The failures a monitor must survive, injected per device (or for all devices) through the
// control API: what each one does to an API call, and its JSON form in that API. A fault acts
// before auth and the rate limit because it stands for what breaks between a monitor and the
// gateway — a dead proxy, a captive portal, a cut connection — which never gets as far as the
// gateway's own checks. `slow` is the one fault after which the call is answered normally, so
// the API handler applies it itself; every other fault answers (or never answers) here.

import type { ServerResponse } from 'node:http';
import { send, sendJson } from './http.js';
import type { CallStats, OpenCall } from './stats.js';

/** Size of the `huge` fault's body: far past any sane client limit. */
export const HUGE_BODY_BYTES = 20 * 1024 * 1024;

export const SIM_FAULT_TYPES = [
  'none',
  'slow',
  'hang',
  'hang_body',
  '500',
  'html',
  'garbage',
  'huge',
  'truncated',
  'api_error',
] as const;
export type SimFaultType = (typeof SIM_FAULT_TYPES)[number];

/** What the simulator does to an API call before (or instead of) answering it. */
export type SimFault =
  | { readonly type: 'none' }
  /** Waits `delayMs`, then answers normally. */
  | { readonly type: 'slow'; readonly delayMs: number }
  /** Never sends headers. */
  | { readonly type: 'hang' }
  /** Sends 200 headers, then nothing. */
  | { readonly type: 'hang_body' }
  /** 500 `{"message":"Server Error"}`. */
  | { readonly type: '500' }
  /** An HTML page as a proxy or captive portal serves it; HTTP 200 unless `httpStatus`. */
  | { readonly type: 'html'; readonly httpStatus?: number }
  /** 200 with a body that is not JSON. */
  | { readonly type: 'garbage' }
  /** 200 with a 20 MiB chunked JSON body, written as fast as the client reads. */
  | { readonly type: 'huge' }
  /** 200 whose Content-Length promises more than is sent before the socket closes. */
  | { readonly type: 'truncated' }
  /** 200 `{"success":false,"message":…}`. */
  | { readonly type: 'api_error'; readonly message?: string };

export const NO_FAULT: SimFault = { type: 'none' };

/**
 * What a fault needs of the server it runs in: slow answers and huge bodies must stop when the
 * simulator closes, or close() would wait on a timer or a client that never reads.
 */
export interface ServerLifetime {
  readonly closed: boolean;
  /** Resolves after `ms`, or never once the server closes (its timer is cancelled). */
  delay(ms: number): Promise<void>;
}

/** Answers `call` as `fault` dictates; `hang` leaves it open until the client or close() ends it. */
export async function answerWithFault(
  fault: SimFault,
  res: ServerResponse,
  call: OpenCall,
  lifetime: ServerLifetime,
  stats: CallStats,
): Promise<void> {
  switch (fault.type) {
    case 'none':
    case 'slow':
      return;
    case 'hang':
      return; // the socket stays open until the client gives up or close() destroys it
    case 'hang_body':
      call.httpStatus = 200;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      return;
    case '500':
      call.httpStatus = 500;
      sendJson(res, 500, { message: 'Server Error' });
      return;
    case 'html': {
      const code = fault.httpStatus ?? 200;
      call.httpStatus = code;
      send(res, code, 'text/html; charset=utf-8', htmlPage(code));
      return;
    }
    case 'garbage':
      call.httpStatus = 200;
      send(res, 200, 'application/json', "{success: true, message: 'connected'");
      return;
    case 'truncated': {
      call.httpStatus = 200;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"success":true,"message":"conn', () => res.destroy());
      return;
    }
    case 'api_error':
      call.httpStatus = 200;
      sendJson(res, 200, { success: false, message: fault.message ?? 'simulated gateway error' });
      return;
    case 'huge':
      call.httpStatus = 200;
      await writeHuge(res, lifetime, stats);
      return;
  }
}

async function writeHuge(res: ServerResponse, lifetime: ServerLifetime, stats: CallStats): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"success":true,"message":"');
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let remaining = HUGE_BODY_BYTES;
  while (remaining > 0 && !res.destroyed && !lifetime.closed) {
    const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
    remaining -= piece.length;
    stats.addHugeBytes(piece.length);
    // Backpressure keeps the count honest: bytes are only produced as the client reads them.
    if (!res.write(piece)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end('"}');
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function htmlPage(code: number): string {
  const title = code === 200 ? 'Sign in to continue' : `${code} Bad Gateway`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

/** Parses the control API's fault body; a string is the reason it was refused. */
export function faultFromJson(body: unknown): SimFault | string {
  if (typeof body !== 'object' || body === null) return 'expected a JSON object like {"fault": "hang"}';
  const { fault, delay_ms: delayMs, message, http_status: httpStatus } = body as Record<string, unknown>;
  if (typeof fault !== 'string' || !(SIM_FAULT_TYPES as readonly string[]).includes(fault)) {
    return `"fault" must be one of ${SIM_FAULT_TYPES.join(', ')}`;
  }
  const type = fault as SimFaultType;
  switch (type) {
    case 'slow':
      if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
        return '"slow" needs "delay_ms": a number ≥ 0';
      }
      return { type, delayMs };
    case 'api_error':
      if (message !== undefined && typeof message !== 'string') return '"message" must be a string';
      return message === undefined ? { type } : { type, message };
    case 'html':
      if (
        httpStatus !== undefined &&
        (typeof httpStatus !== 'number' || httpStatus < 200 || httpStatus > 599)
      ) {
        return '"http_status" must be a number between 200 and 599';
      }
      return httpStatus === undefined ? { type } : { type, httpStatus };
    default:
      return { type };
  }
}

/** The control API's form of a fault: the body `faultFromJson` reads back. */
export function faultToJson(fault: SimFault): Record<string, unknown> {
  switch (fault.type) {
    case 'slow':
      return { fault: fault.type, delay_ms: fault.delayMs };
    case 'api_error':
      return fault.message === undefined
        ? { fault: fault.type }
        : { fault: fault.type, message: fault.message };
    case 'html':
      return fault.httpStatus === undefined
        ? { fault: fault.type }
        : { fault: fault.type, http_status: fault.httpStatus };
    default:
      return { fault: fault.type };
  }
}

// What the simulator's own tests share: simulators closed after each test, and a fetch wrapper
// that returns status, headers and the body (parsed when it is JSON) in one value to assert on.

import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../server.js';

/** Call at a test file's top level: the returned starter's simulators close after each test. */
export function simulatorsClosedAfterEach(): (options?: SimulatorOptions) => Promise<Simulator> {
  const running: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const s = await startSimulator(options);
    running.push(s);
    return s;
  };
}

export interface Answer {
  readonly code: number;
  readonly headers: Headers;
  readonly body: unknown;
}

export async function call(
  s: Simulator,
  path: string,
  init: { method?: string; token?: string | null; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const token = init.token === undefined ? s.token : init.token;
  if (token !== null) headers['access-token'] = token;
  const res = await fetch(`${s.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { code: res.status, headers: res.headers, body };
}

export const status = (s: Simulator, device: string): Promise<Answer> => call(s, `/api/status/${device}`);

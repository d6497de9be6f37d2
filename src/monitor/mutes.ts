// Whether notifications for a device are muted right now: a CLI silence (read from the store,
// which another process may have written) or an open maintenance window. Pure: the silences, the
// open windows and `now` are handed in once per tick (`refresh`); the questions are answered
// from them until the next one.

import { silenceMatches, type Silence } from './silence.js';

/** A maintenance window open at the time of the last refresh. */
export interface OpenWindow {
  /** The devices it covers. */
  readonly devices: ReadonlySet<string> | 'all';
  /** Exclusive end. */
  readonly until: number;
}

/** The end of the latest window in `windows` that covers the device and is open at `now`, or null. */
export function windowEndFor(windows: readonly OpenWindow[], device: string, now: number): number | null {
  let until: number | null = null;
  for (const w of windows) {
    if (w.devices !== 'all' && !w.devices.has(device)) continue;
    if (now < w.until && (until === null || w.until > until)) until = w.until;
  }
  return until;
}

export class Mutes {
  #silences: readonly Silence[] = [];
  #windows: readonly OpenWindow[] = [];
  #now = 0;

  refresh(silences: readonly Silence[], windows: readonly OpenWindow[], now: number): void {
    this.#silences = silences;
    this.#windows = windows;
    this.#now = now;
  }

  /** A reload's new maintenance windows, until the next refresh. */
  setWindows(windows: readonly OpenWindow[]): void {
    this.#windows = windows;
  }

  /** The latest end among the silences and windows that hold for the device, or null. */
  mutedUntil(account: string, device: string): number | null {
    let until = windowEndFor(this.#windows, device, this.#now);
    for (const s of this.#silences) {
      if (s.until > this.#now && silenceMatches(s, account, device) && (until === null || s.until > until)) {
        until = s.until;
      }
    }
    return until;
  }

  isMuted(account: string, device: string): boolean {
    return this.mutedUntil(account, device) !== null;
  }

  /** Account events are muted only by a silence covering every device of the account. */
  isAccountMuted(account: string): boolean {
    return this.#silences.some(
      (s) => s.until > this.#now && s.device === null && (s.account === null || s.account === account),
    );
  }
}

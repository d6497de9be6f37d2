import { silenceMatches, type Silence } from '../store/store.js';
import type { MaintenanceCalendar } from './maintenance.js';

/**
 * Whether notifications for a device are muted right now: a CLI silence (read from the store,
 * which another process may have written) or an open maintenance window. Refreshed once per tick.
 */
export class Mutes {
  #silences: readonly Silence[] = [];
  #now = 0;

  constructor(private calendar: MaintenanceCalendar) {}

  /** A reload's new maintenance windows; the caller closes the old calendar. */
  setCalendar(calendar: MaintenanceCalendar): void {
    this.calendar = calendar;
  }

  refresh(silences: readonly Silence[], now: number): void {
    this.#silences = silences;
    this.#now = now;
    this.calendar.advance(now);
  }

  /** The latest end among the silences and windows that hold for the device, or null. */
  mutedUntil(account: string, device: string): number | null {
    let until = this.calendar.openUntil(device, this.#now);
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

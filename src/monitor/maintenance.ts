import { createTask, type ScheduledTask } from 'node-cron';
import type { MaintenanceWindow } from '../config/types.js';

const MAX_STEPS_PER_CALL = 200_000;

/**
 * Answers "is a maintenance window open for this device at `now`?" for the configured windows.
 * A window opens at each match of its cron expression and stays open for its duration. node-cron
 * only tells whether an instant matches, so each window scans the instants since its last scan
 * (seconds for 6-field expressions, minutes otherwise): O(elapsed time), not O(duration), per call.
 */
export class MaintenanceCalendar {
  private readonly windows: {
    readonly config: MaintenanceWindow;
    readonly devices: ReadonlySet<string> | 'all';
    readonly task: ScheduledTask;
    readonly stepMs: number;
    scannedUpTo: number | null;
    lastStart: number | null;
  }[];

  constructor(windows: readonly MaintenanceWindow[], timezone: string) {
    this.windows = windows.map((config) => ({
      config,
      devices: config.devices === 'all' ? 'all' : new Set(config.devices),
      // createTask never starts a timer by itself; it is only used as a matcher.
      task: createTask(config.schedule, () => undefined, { timezone }),
      stepMs: config.schedule.trim().split(/\s+/).length === 6 ? 1_000 : 60_000,
      scannedUpTo: null,
      lastStart: null,
    }));
  }

  /** Advances every window to `now`; call once per tick before asking `openUntil`. */
  advance(now: number): void {
    for (const w of this.windows) {
      const earliest = now - w.config.durationMs;
      let t = Math.max(w.scannedUpTo === null ? earliest : w.scannedUpTo + w.stepMs, earliest);
      t = Math.ceil(t / w.stepMs) * w.stepMs;
      for (let steps = 0; t <= now && steps < MAX_STEPS_PER_CALL; t += w.stepMs, steps++) {
        if (w.task.match(new Date(t))) w.lastStart = t;
      }
      w.scannedUpTo = Math.min(t - w.stepMs, now);
    }
  }

  /** The end of the latest open window covering the device, or null when none is open. */
  openUntil(device: string, now: number): number | null {
    let until: number | null = null;
    for (const w of this.windows) {
      if (w.lastStart === null) continue;
      if (w.devices !== 'all' && !w.devices.has(device)) continue;
      const end = w.lastStart + w.config.durationMs;
      if (now >= w.lastStart && now < end && (until === null || end > until)) until = end;
    }
    return until;
  }

  close(): void {
    for (const w of this.windows) void w.task.destroy();
  }
}

import { createTask, type ScheduledTask } from 'node-cron';
import type { MaintenanceWindow } from '../config/types.js';
import type { OpenWindow } from '../monitor/mutes.js';

const MAX_STEPS_PER_CALL = 200_000;

// An edge, not the core: node-cron is the matcher.

/**
 * Answers "which maintenance windows are open at `now`?" for the configured windows.
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

  /** The windows open at `now` (call `advance(now)` first); the core decides what they mute. */
  openWindows(now: number): OpenWindow[] {
    const open: OpenWindow[] = [];
    for (const w of this.windows) {
      if (w.lastStart === null) continue;
      const until = w.lastStart + w.config.durationMs;
      if (now >= w.lastStart && now < until) open.push({ devices: w.devices, until });
    }
    return open;
  }

  close(): void {
    for (const w of this.windows) void w.task.destroy();
  }
}

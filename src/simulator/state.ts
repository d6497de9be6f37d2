// The simulated gateway's device table: each device's raw status text and injected fault, in
// creation order. Statuses change four ways: the control API, a scanned QR code, `/delete`, and
// the `--flap` script. The script is applied lazily — each read first catches up with it to
// `now()` — so with an injected clock the table is the same however often it is read, and a
// manual change holds until the script next changes that device.
//
// Whoever keeps per-device state that depends on the status over time (the message queues) is
// told of every change just before it is applied, with the moment it happens — a scripted change
// at its scripted time — so it can settle what happened under the old status first.

import { NO_FAULT, type SimFault } from './faults.js';
import { dueFlapEvents } from './flap-script.js';

/** What is about to happen to a device. */
export type DeviceChange = 'created' | 'status' | 'removed';

/** Told just before a device is created, changes status, or is removed; `at` is when. */
export type DeviceChangeListener = (device: string, at: number, change: DeviceChange) => void;

export interface SimDevice {
  readonly device: string;
  /** The raw text `/status` answers with. */
  readonly status: string;
  readonly fault: SimFault;
}

export interface DeviceTableOptions {
  /** The devices at start, in order: the flap script names devices by position in this list. */
  readonly initial: readonly string[];
  readonly flap: boolean;
  readonly now: () => number;
  readonly log: (line: string) => void;
}

interface DeviceState {
  status: string;
  fault: SimFault;
}

export class DeviceTable {
  private readonly devices: Map<string, DeviceState>;
  /** The fault set for `all`: it also covers calls naming no known device. */
  private defaultFault: SimFault = NO_FAULT;
  private readonly startedAt: number;
  private flapAppliedUntil = 0;
  private listener: DeviceChangeListener = () => undefined;

  constructor(private readonly options: DeviceTableOptions) {
    this.devices = new Map(options.initial.map((d) => [d, { status: 'connected', fault: NO_FAULT }]));
    this.startedAt = options.now();
  }

  /** Sets the one listener told of every change before it is applied (the composition root wires it). */
  onChange(listener: DeviceChangeListener): void {
    this.listener = listener;
  }

  /** Applies the flap changes due by now. */
  tick(): void {
    if (!this.options.flap) return;
    const elapsed = this.options.now() - this.startedAt;
    if (elapsed <= this.flapAppliedUntil) return;
    for (const event of dueFlapEvents(this.flapAppliedUntil, elapsed)) {
      const device = this.options.initial[event.deviceIndex];
      const state = device === undefined ? undefined : this.devices.get(device);
      if (device === undefined || state === undefined || state.status === event.status) continue;
      this.listener(device, this.startedAt + event.atMs, 'status');
      this.options.log(`flap: ${device} ${state.status} → ${event.status} (script t+${event.atMs / 1000}s)`);
      state.status = event.status;
    }
    this.flapAppliedUntil = elapsed;
  }

  /** The current devices, in creation order. */
  list(): SimDevice[] {
    this.tick();
    return [...this.devices].map(([device, s]) => ({ device, status: s.status, fault: s.fault }));
  }

  /** One device as it stands, without catching up with the script; blank when unknown. */
  find(device: string): SimDevice {
    const state = this.devices.get(device);
    return { device, status: state?.status ?? '', fault: state?.fault ?? NO_FAULT };
  }

  /** The raw status text; undefined when the device does not exist. */
  statusOf(device: string | undefined): string | undefined {
    return device === undefined ? undefined : this.devices.get(device)?.status;
  }

  /** The fault a call naming `device` meets: its own, else the one set for `all`. */
  faultFor(device: string | undefined): SimFault {
    return (device === undefined ? undefined : this.devices.get(device)?.fault) ?? this.defaultFault;
  }

  /** Sets the raw status text; creates the device when it does not exist. */
  setStatus(device: string, status: string): void {
    this.tick();
    const state = this.devices.get(device);
    this.listener(device, this.options.now(), state === undefined ? 'created' : 'status');
    if (state === undefined) this.devices.set(device, { status, fault: NO_FAULT });
    else state.status = status;
    this.options.log(`control: ${device} status → ${status}`);
  }

  /** `all` sets every device and calls naming no known device. False when the device is unknown. */
  setFault(device: string, fault: SimFault): boolean {
    if (device === 'all') {
      this.defaultFault = fault;
      for (const state of this.devices.values()) state.fault = fault;
      this.options.log(`control: fault ${fault.type} on all devices`);
      return true;
    }
    const state = this.devices.get(device);
    if (state === undefined) return false;
    state.fault = fault;
    this.options.log(`control: ${device} fault → ${fault.type}`);
    return true;
  }

  /** A QR code scanned on the phone: the device is connected. False when unknown. */
  scan(device: string): boolean {
    this.tick();
    const state = this.devices.get(device);
    if (state === undefined) return false;
    this.listener(device, this.options.now(), 'status');
    state.status = 'connected';
    this.options.log(`control: ${device} QR scanned → connected`);
    return true;
  }

  /** `/delete`: the device is gone, and flap rules naming its position are skipped from now on. */
  remove(device: string): void {
    this.listener(device, this.options.now(), 'removed');
    this.devices.delete(device);
    this.options.log(`api: ${device} deleted`);
  }
}

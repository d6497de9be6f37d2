// A silence (`silence` command, SPEC §5): notifications for the devices it covers are muted until
// it ends. Stored by the store; decided on here. Pure.

export interface Silence {
  readonly id: number;
  /** Null: every account. */
  readonly account: string | null;
  /** Null: every device (of `account`, or of all accounts). */
  readonly device: string | null;
  /** Exclusive: the silence holds while `now < until`. */
  readonly until: number;
  readonly reason: string | null;
  readonly createdAt: number;
}

/** True when `silence` covers the device. */
export function silenceMatches(silence: Silence, account: string, device: string): boolean {
  return (
    (silence.account === null || silence.account === account) &&
    (silence.device === null || silence.device === device)
  );
}

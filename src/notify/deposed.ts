// HA (SPEC §11): a store fenced at a lease epoch refuses every write once another replica holds
// the lease, with a StoreError of reason `deposed`. For the notify layer that is not a failure
// to retry but a fact: the other replica delivers from now on, so whatever this process was
// doing with the outbox is left to it — logged once, never retried here, never a crash.

import { StoreError } from '../store/errors.js';

export function isDeposed(err: unknown): err is StoreError {
  return err instanceof StoreError && err.reason === 'deposed';
}

/** Always true: for a replica without HA, or a test. */
export const ALWAYS = (): boolean => true;

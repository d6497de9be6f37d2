// What a recorded status adds to a device's running totals (store.ts, HistoryTotals) for each
// millisecond it holds: both stores keep the totals by these two rules.

export const connectedWeight = (to: string | null): 0 | 1 => (to === 'connected' ? 1 : 0);

/** Any status but connected; before the first change (null) and while deleted: neither. */
export const downWeight = (to: string | null): 0 | 1 =>
  to === null || to === 'connected' || to === 'deleted' ? 0 : 1;

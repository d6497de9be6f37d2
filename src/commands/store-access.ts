// The one place a CLI command opens the daemon's store: the commands (context.ts), the CLI's
// share of the API budget (api-budget.ts) and the CLI's senders (cli-senders.ts) all come here,
// so which database the daemon uses is decided once for the whole CLI.
//
// `read` never creates the database: a reader of a daemon that has not run yet is told so (a
// StoreError with reason `missing_file` or `missing_dir`) instead of leaving an empty file behind.

import type { Config } from '../config/types.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';

export type StoreMode = 'read' | 'write';

/** Opens the daemon's store; a failure is a StoreError whose message names what to do. */
export function connectStore(config: Config, mode: StoreMode): Promise<Store> {
  return openStore(config.store, { readonly: mode === 'read' });
}

// Where the daemon keeps its database: one file in `state_dir`. The CLI's readers open the same
// file, and must not load the daemon to learn its name.

import { join } from 'node:path';

export const DB_FILE = 'monitor.db';

export function dbPathIn(stateDir: string): string {
  return join(stateDir, DB_FILE);
}

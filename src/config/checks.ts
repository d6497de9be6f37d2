// The checks that span keys: references, uniqueness, either-or pairs, and the secrets (read
// here, once, so conversion never touches a file). Each channel type checks its own entry
// (its definition's `check`).
//
// The checks read the raw tree defensively instead of zod's output, so they run — and report —
// even when zod found problems elsewhere: all errors at once (SPEC §4).

import { isAbsolute, resolve as resolvePath } from 'node:path';
import { definitionOf, CHANNEL_TYPES } from '../notify/channels/index.js';
import type { IssueList, Path } from '../fields/errors.js';
import { normalizeDeviceNumber } from '../fields/fields.js';
import { list, record, type Tree } from '../fields/raw-tree.js';
import { SecretReader, type SecretSource, type Secrets } from '../fields/secrets.js';
import { SQLITE, storeProblem } from './store.js';

function deviceNumberOf(value: unknown): string | null {
  return typeof value === 'string' || typeof value === 'number' ? normalizeDeviceNumber(value) : null;
}

export interface SecretsRead {
  readonly secrets: Secrets;
  /** With `secrets: 'skip'`: the secret keys whose values were not looked at. */
  readonly unread: readonly Path[];
}

export function checkAcrossKeys(root: unknown, issues: IssueList, source: SecretSource): SecretsRead {
  const reader = new SecretReader(issues, source);
  const top = record(root) ?? {};
  const notify = record(top['notify']);
  const channelsTree =
    notify === null ? {} : notify['channels'] === undefined ? {} : record(notify['channels']);
  // When notify.channels itself is malformed zod says so; guessing at references would only add noise.
  const channelNames = channelsTree === null ? null : Object.keys(channelsTree);

  const checkRefs = (value: unknown, path: Path): void => {
    if (channelNames === null) return;
    list(value).forEach((name, i) => {
      if (typeof name === 'string' && !channelNames.includes(name)) {
        const known =
          channelNames.length === 0
            ? 'no channels are configured under notify.channels'
            : `configured: ${channelNames.join(', ')}`;
        issues.add([...path, i], `unknown channel "${name}" (${known})`);
      }
    });
  };

  // Accounts and devices.
  const accountNames = new Map<string, number>();
  const accountDevices = new Map<string, Set<string>>();
  const allNumbers = new Set<string>();
  list(top['accounts']).forEach((item, i) => {
    const account = record(item);
    if (account === null) return;
    const path: Path = ['accounts', i];
    const name = account['name'];
    if (typeof name === 'string') {
      const first = accountNames.get(name);
      if (first === undefined) accountNames.set(name, i);
      else issues.add([...path, 'name'], `duplicate account name "${name}" (also accounts[${first}])`);
    }
    const hasSubdomain = account['subdomain'] !== undefined;
    const hasBaseUrl = account['base_url'] !== undefined;
    if (hasSubdomain && hasBaseUrl)
      issues.add([...path, 'base_url'], 'set either subdomain or base_url, not both');
    if (!hasSubdomain && !hasBaseUrl) issues.add([...path, 'subdomain'], 'required (or base_url)');
    reader.read(account, path, 'token', true);

    const numbers = new Map<string, number>();
    if (typeof name === 'string' && !accountDevices.has(name)) accountDevices.set(name, new Set());
    const declared = typeof name === 'string' ? accountDevices.get(name) : undefined;
    list(account['devices']).forEach((entry, k) => {
      const device = record(entry);
      if (device === null) return;
      const number = deviceNumberOf(device['number']);
      if (number !== null) {
        const first = numbers.get(number);
        if (first === undefined) numbers.set(number, k);
        else
          issues.add(
            [...path, 'devices', k, 'number'],
            `duplicate device ${number} (also devices[${first}])`,
          );
        allNumbers.add(number);
        declared?.add(number);
      }
      checkRefs(device['channels'], [...path, 'devices', k, 'channels']);
    });
  });

  // Notification channels and their references.
  if (notify !== null) {
    checkRefs(notify['default'], ['notify', 'default']);
    list(notify['routes']).forEach((route, r) => {
      checkRefs(record(route)?.['channels'], ['notify', 'routes', r, 'channels']);
    });
  }
  for (const [name, value] of Object.entries(channelsTree ?? {})) {
    const channel = record(value);
    const type = channel?.['type'];
    // An unknown or missing type is zod's to report.
    if (channel === null || typeof type !== 'string' || !(CHANNEL_TYPES as readonly string[]).includes(type))
      continue;
    const path: Path = ['notify', 'channels', name];
    definitionOf(type).check?.(channel, {
      issues,
      path,
      readSecret: (key, options = {}) => reader.read(channel, path, key, options.required ?? false),
      accounts: accountDevices,
    });
  }

  const audit = record(top['audit']);
  if (audit !== null) checkRefs(audit['channels'], ['audit', 'channels']);

  // Read even by the commands that skip secrets: every command that opens the database needs it.
  const storeReader = new SecretReader(issues, { ...source, secrets: 'read' });
  checkStore(top, issues, storeReader, source.baseDir);

  list(top['maintenance']).forEach((item, w) => {
    const devices = record(item)?.['devices'];
    list(devices).forEach((entry, k) => {
      const number = deviceNumberOf(entry);
      if (number !== null && !allNumbers.has(number)) {
        issues.add(['maintenance', w, 'devices', k], `${number} is not a configured device`);
      }
    });
  });

  return { secrets: new Map([...reader.secrets, ...storeReader.secrets]), unread: reader.unread };
}

/**
 * `store` or `store_file` (not both; neither is SQLite). A `store_file`'s text gets the checks the
 * schema gives an inline `store`. `ha` needs a postgres store; with a store that is itself wrong,
 * its own error says enough.
 */
function checkStore(top: Tree, issues: IssueList, reader: SecretReader, baseDir: string): void {
  const value = reader.read(top, [], 'store', false);
  const file = top['store_file'];
  const problem = value === undefined ? null : storeProblem(value);
  const valid = value !== undefined && problem === null;
  // An inline store's problem is the schema's to report; the file's text only this can see.
  if (problem !== null && top['store'] === undefined && typeof file === 'string') {
    const where = isAbsolute(file) ? file : resolvePath(baseDir, file);
    issues.add(['store_file'], `${problem} (in ${where})`);
  }
  // A malformed ha has its schema error.
  const ha = record(top['ha']);
  if (ha === null) return;
  const unset = top['store'] === undefined && file === undefined;
  if (!unset && !valid) return;
  if (unset || value?.trim() === SQLITE) {
    issues.add(
      ha['lease'] === undefined ? ['ha'] : ['ha', 'lease'],
      'only with a postgres store: SQLite serves one process, with no replica to take over (set store: postgres://…, or remove ha)',
    );
  }
}

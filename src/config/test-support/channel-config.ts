// Loading a config whose only channel is the one under test: what every channel's
// config.test.ts needs. The channel is `notify.channels.<name>` and the default route.

import type { Config } from '../types.js';
import { ConfigError } from '../../fields/errors.js';
import { parseConfig } from '../load.js';
import { baseTree, patched, yamlOf } from './fixtures.js';

/** The config with `channel` as `notify.channels.<name>`; `files` the only ones `*_file` can read. */
export function loadChannel(
  name: string,
  channel: Record<string, unknown>,
  files?: Record<string, string>,
): Config {
  const text = yamlOf(
    patched(
      [
        [`notify.channels.${name}`, channel],
        ['notify.default', [name]],
      ],
      baseTree(),
    ),
  );
  if (files === undefined) return parseConfig(text, { env: {} });
  return parseConfig(text, {
    env: {},
    readFile: (path) => {
      const content = files[path];
      if (content === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return content;
    },
  });
}

/** The ConfigError's message for a channel that does not load; throws when it loads. */
export function channelProblems(
  name: string,
  channel: Record<string, unknown>,
  files?: Record<string, string>,
): string {
  try {
    loadChannel(name, channel, files);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

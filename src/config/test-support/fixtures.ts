// A small valid config as a plain tree, and a way to vary it one key at a time, so each table row
// in the tests states only what it changes.

import { stringify } from 'yaml';

export type Tree = Record<string, unknown>;

export function baseTree(): Tree {
  return {
    accounts: [
      {
        name: 'main',
        subdomain: 'acme',
        token: 'tok-abc',
        devices: [{ number: '491511111111', name: 'Sales' }, { number: '491512222222' }],
      },
    ],
    notify: {
      default: ['ops'],
      channels: { ops: { type: 'webhook', url: 'https://hooks.example.com/x' } },
    },
  };
}

/** A value to set at a dotted path (`accounts.0.devices.1.number`); `undefined` removes the key. */
export type Patch = readonly [path: string, value: unknown];

export function patched(patches: readonly Patch[], tree: Tree = baseTree()): Tree {
  for (const [path, value] of patches) {
    const keys = path.split('.');
    const last = keys.pop() ?? '';
    let node: Record<string, unknown> = tree;
    for (const key of keys) {
      if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return tree;
}

export function yamlOf(tree: Tree): string {
  return stringify(tree);
}

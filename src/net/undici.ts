// undici, loaded on first use. Importing the kit (or a channel definition, or the gateway client)
// must not load it: the config layer imports the channel registry, and CLI commands that only
// read the database must stay light.

import type * as UndiciModule from 'undici';

export type Undici = typeof UndiciModule;

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  loading ??= import('undici');
  return loading;
}

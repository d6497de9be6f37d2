// undici, loaded on first use. Importing the kit (or a channel definition, or the gateway client)
// must not load it: the config layer imports the channel registry, and CLI commands that only
// read the database must stay light.

export type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  loading ??= import('undici');
  return loading;
}

// The one "no secret leaks" check (tests only; Alertmanager's notify tests have the same idea).
// Given every configured secret by its key path and the texts the program produced — error
// results, log lines, database files, metrics, pages, payloads received — it looks for each
// secret in every form a leak can take and fails naming the secret by its key path and the
// source by name, never printing the secret or the text around it.
//
// Forms: as written; URL-encoded (`encodeURIComponent` and form-encoding); JSON-escaped; hex
// (either case); base64 in both alphabets, whole or inside a longer blob at any byte offset
// (an SMTP AUTH PLAIN line `base64("\0user\0pass")`, a Basic header). The base64 search is
// written here independently of net/redact.ts on purpose: one shared mistake must not make the
// redaction and its test blind to the same form.

export type Secrets = Readonly<Record<string, string>> | readonly string[];

export interface LeakSource {
  /** Where the text came from: `the daemon log`, `monitor.db`, `GET /metrics`. */
  readonly name: string;
  readonly content: string | Buffer;
}

export interface Leak {
  /** The secret's key path (`notify.channels.hook.secret`), or `secret #i` for a bare list. */
  readonly secret: string;
  readonly source: string;
  readonly form: string;
  /** Byte offset in a Buffer, line number (1-based) in a text. */
  readonly where: string;
}

/** Shorter secrets would be found by chance; a test must configure long ones. */
const MIN_SEARCHABLE = 6;

function named(secrets: Secrets): [string, string][] {
  if (Array.isArray(secrets)) {
    return (secrets as readonly string[]).map((value, i) => [`secret #${i + 1}`, value]);
  }
  return Object.entries(secrets as Readonly<Record<string, string>>);
}

/** Every form of `value` worth searching for, by name. */
export function leakForms(value: string): { form: string; text: string }[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms: { form: string; text: string }[] = [
    { form: 'as written', text: value },
    { form: 'URL-encoded', text: encodeURIComponent(value) },
    { form: 'form-encoded', text: new URLSearchParams({ v: value }).toString().slice(2) },
    { form: 'JSON-escaped', text: JSON.stringify(value).slice(1, -1) },
    { form: 'hex', text: bytes.toString('hex') },
    { form: 'HEX', text: bytes.toString('hex').toUpperCase() },
  ];
  // Inside a base64 blob the secret starts at byte offset 0, 1 or 2 of a 3-byte group: encode
  // it behind that many filler bytes and keep only the characters no filler bit reaches, nor
  // the bits after the secret.
  for (const offset of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(offset, 0xff), bytes]).toString('base64');
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    const core = encoded.slice(first, end);
    forms.push({ form: `base64 (byte offset ${offset})`, text: core });
    forms.push({
      form: `base64url (byte offset ${offset})`,
      text: core.replace(/\+/g, '-').replace(/\//g, '_'),
    });
  }
  const seen = new Set<string>();
  return forms.filter((f) => f.text.length > 0 && !seen.has(f.text) && seen.add(f.text));
}

function locate(content: string | Buffer, text: string): string | null {
  if (typeof content === 'string') {
    const at = content.indexOf(text);
    return at < 0 ? null : `line ${content.slice(0, at).split('\n').length}`;
  }
  const at = content.indexOf(Buffer.from(text, 'utf8'));
  return at < 0 ? null : `byte ${at}`;
}

/** Every place any secret shows up, in any form. */
export function findSecretLeaks(secrets: Secrets, sources: readonly LeakSource[]): Leak[] {
  const leaks: Leak[] = [];
  for (const [name, value] of named(secrets)) {
    if (value.length < MIN_SEARCHABLE) {
      throw new Error(
        `${name} is ${value.length} characters: too short to search for; configure a longer test secret`,
      );
    }
    for (const { form, text } of leakForms(value)) {
      for (const source of sources) {
        const where = locate(source.content, text);
        if (where !== null) leaks.push({ secret: name, source: source.name, form, where });
      }
    }
  }
  return leaks;
}

/** Throws an Error listing every leak (secret by key path, source, form, place), or returns. */
export function expectNoSecretLeaks(secrets: Secrets, sources: readonly LeakSource[]): void {
  const leaks = findSecretLeaks(secrets, sources);
  if (leaks.length === 0) return;
  const lines = leaks.map((l) => `  ${l.secret} leaked into ${l.source} ${l.form}, ${l.where}`);
  throw new Error(`${leaks.length} secret leak(s):\n${lines.join('\n')}`);
}

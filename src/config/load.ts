// From YAML text (or a file) to a validated Config, collecting every problem on the way.

import { dirname } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { substituteEnv } from './env.js';
import { ConfigError, IssueList, formatPath, type ConfigIssue, type Path } from '../fields/errors.js';
import { checkAcrossKeys } from './checks.js';
import { buildConfig } from './convert.js';
import type { Problem } from '../fields/fields.js';
import { describeFsError, readBoundedFile, readSecretFile } from '../fields/secrets.js';
import { duplicateKeyIssues } from './duplicate-keys.js';
import { rawConfigSchema } from './schema.js';
import { DEFAULTS } from './defaults.js';
import { pathProblem } from '../fields/fields.js';
import { record } from '../fields/raw-tree.js';
import { collectGarbage, LARGE_CONFIG_CHARS } from '../runtime/heap.js';
import type { Config } from './types.js';
import { errorMap, mapZodIssues } from './zod-issues.js';
import { keepNumbersAsWritten, leanYamlTree, MAX_ALIAS_COUNT, parseConfigDocument } from './yaml-tree.js';

export interface ParseOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Reads `*_file` secrets; defaults to the file system. */
  readonly readFile?: (path: string) => string;
  /** Where the text came from, for messages (usually the file path). */
  readonly source?: string;
  /** Folder that relative `*_file` paths are relative to; defaults to the working directory. */
  readonly baseDir?: string;
  /**
   * Checks `state_dir` on this machine (check-config: exists or can be created, a writable
   * folder); its problem is reported at the key. Not set: the path is checked as text only.
   */
  readonly stateDirProblem?: (path: string) => Problem;
  /**
   * `skip` for commands that use no secret (they only read the database): a `token_file` that
   * is missing here, or a `${VAR}` in a secret that is unset, is not an error; each secret then
   * reads as UNREAD_SECRET (fields/secrets.ts). Default `read`.
   */
  readonly secrets?: 'read' | 'skip';
}

/**
 * A config file is a few KiB, 3.4 MB at 100,000 devices (one line each); the cap only stops
 * `--config /dev/zero` from eating memory (parsing takes ~110 bytes of heap per byte of text).
 */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Parses and validates config text. Throws ConfigError listing every problem found. */
export function parseConfig(text: string, options: ParseOptions): Config {
  // A valid file is read account by account where it can be (yaml-tree.ts): a large one then
  // never has its whole parse tree in memory at once.
  const lean = leanYamlTree(text);
  if (lean !== null) {
    const checked = checkTree(lean, options);
    if (checked.config !== null) return checked.config;
    // Not valid: the whole document is read after all, to say where each problem is.
  }
  return parseWholeConfig(text, options);
}

function parseWholeConfig(text: string, options: ParseOptions): Config {
  const source = options.source ?? 'config';
  const lineCounter = new LineCounter();
  const doc = parseConfigDocument(text, lineCounter);
  // A duplicate key leaves a well-formed tree (the later value wins in toJS), so it is reported
  // with its path and validation goes on; other YAML errors stop here.
  const duplicates = doc.errors.some((e) => e.code === 'DUPLICATE_KEY')
    ? duplicateKeyIssues(doc, lineCounter)
    : [];
  const syntaxErrors = doc.errors.filter((e) => e.code !== 'DUPLICATE_KEY' || duplicates.length === 0);
  if (syntaxErrors.length > 0) {
    // The YAML library's messages describe the syntax only; the source line is not quoted
    // (it could hold a secret).
    const issues = syntaxErrors.map((error): ConfigIssue => {
      const at = lineCounter.linePos(error.pos[0]);
      return { path: source, message: `line ${at.line}, column ${at.col}: ${error.message}` };
    });
    throw new ConfigError([...duplicates, ...issues], { source: options.source });
  }
  keepNumbersAsWritten(doc);

  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    throw new ConfigError([{ path: source, message: `invalid YAML: ${(err as Error).message}` }], {
      source: options.source,
      cause: err,
    });
  }

  const checked = checkTree(tree, options);
  if (checked.config !== null && duplicates.length === 0) return checked.config;
  const seen = new Set<string>();
  const located = checked.issues
    .map((issue): ConfigIssue => {
      const line = lineOf(doc, lineCounter, issue.path);
      const path = formatPath(issue.path);
      return line === undefined ? { path, message: issue.message } : { path, message: issue.message, line };
    })
    .concat(duplicates)
    .filter((issue) => {
      const key = `${issue.path}\0${issue.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    // Top to bottom, as the operator reads the file; sort is stable for issues on one line.
    .sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
  throw new ConfigError(located, { source: options.source });
}

/** A parsed tree validated: the Config, or null and the problems found (by key path). */
interface CheckedTree {
  readonly config: Config | null;
  readonly issues: readonly { readonly path: Path; readonly message: string }[];
}

function checkTree(tree: unknown, options: ParseOptions): CheckedTree {
  const issues = new IssueList();
  const substituted = substituteEnv(tree, options.env, issues);
  const envIssueCount = issues.size;

  const parsed = rawConfigSchema.safeParse(substituted.value, { error: errorMap });
  if (!parsed.success) {
    for (const issue of mapZodIssues(parsed.error.issues, (path) => knownKeys(rawConfigSchema, path))) {
      issues.add(issue.path, issue.message);
    }
  }
  const { secrets, unread } = checkAcrossKeys(substituted.value, issues, {
    readFile: options.readFile ?? readSecretFile,
    baseDir: options.baseDir ?? process.cwd(),
    secrets: options.secrets ?? 'read',
  });
  if (options.stateDirProblem !== undefined) {
    const stateDir = record(substituted.value)?.['state_dir'];
    const dir = stateDir === undefined ? DEFAULTS.stateDir : stateDir;
    // A malformed value has its schema error already.
    if (typeof dir === 'string' && pathProblem(dir) === null) {
      const problem = options.stateDirProblem(dir);
      if (problem !== null) issues.add(['state_dir'], problem);
    }
  }

  // A key whose ${VAR} failed has one error already; whatever else is wrong with its placeholder
  // text is noise.
  // A secret left unread may hold an unset ${VAR}: that is for the commands that use it to say.
  const kept = issues.items.filter(
    (issue, index) =>
      (index < envIssueCount || !substituted.failed.some((failed) => startsWith(issue.path, failed))) &&
      !(index < envIssueCount && unread.some((key) => samePath(issue.path, key))),
  );
  if (kept.length > 0 || !parsed.success) return { config: null, issues: kept };
  return { config: buildConfig(parsed.data, secrets), issues: [] };
}

/**
 * The config file could not be read at all (as opposed to read and found invalid): commands say
 * "no config file at …" for a missing one rather than "invalid configuration".
 */
export class ConfigFileError extends ConfigError {
  override name = 'ConfigFileError';
  constructor(
    readonly path: string,
    /** ENOENT: nothing at the path (or a folder on the way is missing). */
    readonly missing: boolean,
    cause: unknown,
  ) {
    super([{ path, message: `cannot read the config file: ${describeFsError(cause)}` }], {
      source: path,
      cause,
    });
  }
}

/** Reads and validates the config file. A missing or unreadable file is a ConfigFileError. */
export function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv,
  options: Pick<ParseOptions, 'stateDirProblem' | 'secrets'> = {},
): Promise<Config> {
  // The read is synchronous (a regular file under MAX_CONFIG_BYTES, at start-up, reload or
  // check-config); the promise keeps every failure a rejection.
  return Promise.resolve().then(() => {
    let text: string;
    try {
      text = readBoundedFile(path, MAX_CONFIG_BYTES);
    } catch (err) {
      throw new ConfigFileError(path, (err as { code?: unknown } | null)?.code === 'ENOENT', err);
    }
    try {
      return parseConfig(text, { ...options, env, source: path, baseDir: dirname(path) });
    } finally {
      // The parse tree of a large file is garbage now, and V8 would size the heap by it.
      if (text.length >= LARGE_CONFIG_CHARS) collectGarbage();
    }
  });
}

function samePath(a: Path, b: Path): boolean {
  return a.length === b.length && startsWith(a, b);
}

function startsWith(path: Path, prefix: Path): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);
}

/** The line of the key at `path`, or of the nearest enclosing node that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const [i, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
      if (i === path.length - 1) {
        offset = keyRange?.[0] ?? offset;
        break;
      }
      node = pair.value;
      offset = (node as Node | null)?.range?.[0] ?? keyRange?.[0] ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) break;
      offset = (node as Node).range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}

// Just enough of zod's internals to list an object's keys for "did you mean".
interface SchemaDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, z.core.$ZodType>>;
  readonly element?: z.core.$ZodType;
  readonly innerType?: z.core.$ZodType;
  readonly options?: readonly z.core.$ZodType[];
  readonly valueType?: z.core.$ZodType;
}

function defOf(schema: z.core.$ZodType): SchemaDef {
  return schema._zod.def;
}

function expand(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = defOf(schema);
  if ((def.type === 'optional' || def.type === 'nullable' || def.type === 'default') && def.innerType) {
    return expand(def.innerType);
  }
  if (def.type === 'union' && def.options) return def.options.flatMap(expand);
  return [schema];
}

function knownKeys(schema: z.core.$ZodType, path: Path): string[] {
  let nodes = expand(schema);
  for (const segment of path) {
    nodes = nodes.flatMap((node) => {
      const def = defOf(node);
      const next =
        def.type === 'object' && typeof segment === 'string'
          ? def.shape?.[segment]
          : def.type === 'array' && typeof segment === 'number'
            ? def.element
            : def.type === 'record'
              ? def.valueType
              : undefined;
      return next === undefined ? [] : expand(next);
    });
  }
  return [...new Set(nodes.flatMap((node) => Object.keys(defOf(node).shape ?? {})))];
}

// Config errors are collected, never thrown one at a time: an operator fixing a file wants the
// whole list in one go (SPEC §4). Messages name key paths and what was expected, never values
// that could be secrets.

export interface ConfigIssue {
  /** Key path such as `accounts[0].devices[2].number`, or the file for file-level problems. */
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML source, when known. */
  readonly line?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  /** The file (or label) the config came from, when known. */
  readonly source: string | undefined;

  constructor(
    issues: readonly ConfigIssue[],
    options: { source?: string | undefined; cause?: unknown } = {},
  ) {
    super(issues.map(formatIssue).join('\n'), options.cause === undefined ? {} : { cause: options.cause });
    this.issues = issues;
    this.source = options.source;
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return `${issue.path}: ${issue.message}${issue.line === undefined ? '' : ` (line ${issue.line})`}`;
}

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

// Channel names and label keys often contain dashes; keep those readable as dotted segments and
// quote only what would be ambiguous.
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['accounts', 0, 'devices', 2, 'number']` → `accounts[0].devices[2].number`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

/** Collects issues while validation walks the tree. */
export class IssueList {
  readonly items: { path: Path; message: string }[] = [];

  add(path: Path, message: string): void {
    this.items.push({ path, message });
  }

  get size(): number {
    return this.items.length;
  }
}

// Duplicate JSON keys in a log line (tests only). JSON.parse silently keeps the last of two
// equal keys, so a line like `{"component":"notify",…,"component":"notify"}` parses fine here
// and is refused by Elasticsearch/OpenSearch ingest. This scanner reads the text itself and
// reports every object key that appears twice in one object, at any depth.

export interface DuplicateKey {
  /** Where the object is: `$` for the line itself, `$.err` for a nested one. */
  readonly at: string;
  readonly key: string;
}

/** The repeated keys of one JSON text; throws on text that is not JSON. */
export function duplicateKeys(text: string): DuplicateKey[] {
  JSON.parse(text); // well-formed first: the scanner below may then trust the grammar
  const found: DuplicateKey[] = [];
  let i = 0;

  const skipSpace = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  };
  const readString = (): string => {
    const start = i; // at the opening quote
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (at: string): void => {
    skipSpace();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      skipSpace();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        skipSpace();
        const key = readString();
        if (seen.has(key)) found.push({ at, key });
        seen.add(key);
        skipSpace();
        i++; // ':'
        readValue(`${at}.${key}`);
        skipSpace();
        if (text[i++] === '}') return; // else ','
      }
    }
    if (c === '[') {
      i++;
      skipSpace();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        readValue(`${at}[${n}]`);
        skipSpace();
        if (text[i++] === ']') return;
      }
    }
    if (c === '"') {
      readString();
      return;
    }
    // number, true, false, null
    while (i < text.length && !',]} \t\r\n'.includes(text[i] ?? '')) i++;
  };

  readValue('$');
  return found;
}

/**
 * Every line of a JSON-lines log with a repeated key, as `line N: key "component" twice in $`;
 * empty when each line has each key once. Blank lines are skipped; a line that is not JSON is
 * reported as such (a log line must be one JSON object).
 */
export function duplicateKeyProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let dups: DuplicateKey[];
    try {
      dups = duplicateKeys(line);
    } catch {
      problems.push(`line ${index + 1}: not JSON: ${line.slice(0, 200)}`);
      return;
    }
    for (const d of dups)
      problems.push(`line ${index + 1}: key "${d.key}" twice in ${d.at}: ${line.slice(0, 300)}`);
  });
  return problems;
}

// A strict reader of text format 0.0.4, for tests: it throws on anything Prometheus would
// reject or that our contract forbids (a family split or repeated, a sample outside its family,
// a duplicate series, a bad escape), and returns the families for assertions.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
// What Go's strconv.ParseFloat (Prometheus's parser) takes in decimal: NaN and Inf in any case
// (prom-client writes `Nan`).
const FLOAT = /^[+-]?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?|inf(?:inity)?|nan)$/i;

/** Sample names a family of the given type may contain. */
function allowedNames(family: string, type: string): string[] {
  if (type === 'histogram') return [`${family}_bucket`, `${family}_sum`, `${family}_count`];
  if (type === 'summary') return [family, `${family}_sum`, `${family}_count`];
  return [family];
}

function fail(lineNo: number, line: string, why: string): never {
  throw new Error(`line ${lineNo}: ${why}: ${JSON.stringify(line.slice(0, 200))}`);
}

function parseLabels(text: string, lineNo: number, line: string): [Record<string, string>, number] {
  // text starts just after '{'; returns the labels and the index just after '}'.
  const labels: Record<string, string> = {};
  let i = 0;
  for (;;) {
    if (text[i] === '}') return [labels, i + 1];
    const eq = text.indexOf('=', i);
    if (eq < 0) fail(lineNo, line, 'label without =');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) fail(lineNo, line, `bad label name ${name}`);
    if (name in labels) fail(lineNo, line, `duplicate label ${name}`);
    if (text[eq + 1] !== '"') fail(lineNo, line, 'label value not quoted');
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) fail(lineNo, line, 'unterminated label value');
      if (c === '"') break;
      if (c === '\\') {
        const e = text[j + 1];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else fail(lineNo, line, `bad escape \\${e ?? ''}`);
        j += 2;
        continue;
      }
      value += c;
      j += 1;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i += 1;
    else if (text[i] !== '}') fail(lineNo, line, 'expected , or } after label');
  }
}

function parseValue(text: string, lineNo: number, line: string): number {
  if (!FLOAT.test(text)) fail(lineNo, line, `bad value ${text}`);
  const lower = text.toLowerCase().replace('infinity', 'inf');
  if (lower === 'nan') return Number.NaN;
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  return Number(text);
}

export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  let current: Family | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line === '') return;
    if (line.startsWith('# HELP ')) {
      const rest = line.slice(7);
      const sp = rest.indexOf(' ');
      const name = sp < 0 ? rest : rest.slice(0, sp);
      if (families.has(name) || pendingHelp !== undefined)
        fail(lineNo, line, `family ${name} repeated or split`);
      if (!METRIC_NAME.test(name)) fail(lineNo, line, 'bad metric name');
      const help = sp < 0 ? '' : rest.slice(sp + 1);
      if (/\\(?!n)/.test(help.replace(/\\\\/g, ''))) fail(lineNo, line, 'bad escape in HELP');
      pendingHelp = { name, help };
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice(7).split(' ');
      if (name === undefined || type === undefined || extra !== undefined || !TYPES.has(type)) {
        fail(lineNo, line, 'bad TYPE line');
      }
      if (pendingHelp?.name !== name) fail(lineNo, line, 'TYPE without its HELP just before');
      if (type === 'counter' && !name.endsWith('_total')) fail(lineNo, line, 'counter without _total');
      current = { name, help: pendingHelp.help, type, samples: [] };
      families.set(name, current);
      pendingHelp = undefined;
      return;
    }
    if (line.startsWith('#')) fail(lineNo, line, 'unexpected comment');
    if (current === undefined || pendingHelp !== undefined) fail(lineNo, line, 'sample outside a family');
    const brace = line.indexOf('{');
    const firstSpace = line.indexOf(' ');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace >= 0 && (firstSpace < 0 || brace < firstSpace)) {
      name = line.slice(0, brace);
      const [parsed, end] = parseLabels(line.slice(brace + 1), lineNo, line);
      labels = parsed;
      rest = line.slice(brace + 1 + end);
    } else {
      name = line.slice(0, firstSpace);
      rest = line.slice(firstSpace);
    }
    if (!allowedNames(current.name, current.type).includes(name)) {
      fail(lineNo, line, `sample ${name} does not belong to family ${current.name}`);
    }
    if (!rest.startsWith(' ')) fail(lineNo, line, 'no space before value');
    const parts = rest.slice(1).split(' ');
    if (parts.length !== 1) fail(lineNo, line, 'timestamps or trailing text not expected');
    const value = parseValue(parts[0] ?? '', lineNo, line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    if (seriesSeen.has(key)) fail(lineNo, line, 'duplicate series');
    seriesSeen.add(key);
    current.samples.push({ name, labels, value });
  });
  if (pendingHelp !== undefined) throw new Error(`HELP for ${pendingHelp.name} without TYPE`);
  return families;
}

/** The samples of one family, failing loudly when it is missing. */
export function samplesOf(families: Map<string, Family>, name: string): Sample[] {
  const family = families.get(name);
  if (family === undefined) throw new Error(`family ${name} missing`);
  return family.samples;
}

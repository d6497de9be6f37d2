// The import direction of src/ (README → "How the code is laid out"), checked by `npm run lint`.
// dependency-cruiser rather than eslint's no-restricted-imports: it sees the whole graph, so it
// can forbid what a CLI command reaches transitively, not only what one file names. Cycles
// between top-level folders are checked by scripts/folder-cycles.mjs over the same graph
// (dependency-cruiser's folder scope would count type-only imports).
//
// Lowest layer first: monitor (the pure core) ← fields, net, report, store ← gateway, simulator,
// notify, metrics, web, audit ← config (it assembles the channels' fragments) ← poll, views,
// housekeeping, http, ha ← daemon.ts, commands, demo, cli.
// Type-only imports vanish at run time; they may point anywhere but out of the pure core into an
// edge module.

/** Tests and their helpers may reach across. */
const TESTS = '(?:\\.test\\.ts$|/test-support/)';

/** The layer of each top-level folder (or top-level file) of src/. */
const LAYERS = [
  ['monitor'],
  ['fields', 'net', 'report', 'store', 'runtime', 'log\\.ts', 'version\\.ts'],
  ['gateway', 'simulator', 'notify', 'metrics', 'web', 'audit'],
  ['config'],
  ['poll', 'views', 'housekeeping', 'http', 'ha'],
  ['daemon\\.ts', 'commands', 'demo', 'cli\\.ts', 'config-schema\\.ts'],
];

const folderOf = (names) => `^src/(?:${names.join('|')})(?:/|$)`;

/** A module of layer i may not import (other than type-only) a module of a higher layer. */
const upward = LAYERS.slice(0, -1).map((names, i) => ({
  name: `layer-${i}-imports-upward`,
  severity: 'error',
  comment: `${names.join(', ')} must not import from ${LAYERS.slice(i + 1)
    .flat()
    .join(', ')}`,
  from: { path: folderOf(names), pathNot: TESTS },
  to: { path: folderOf(LAYERS.slice(i + 1).flat()), dependencyTypesNot: ['type-only'] },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        'src/monitor decides from observations and a clock: no I/O, no packages, nothing from other folders but types',
      from: { path: '^src/monitor/', pathNot: TESTS },
      to: {
        pathNot: '^src/monitor/',
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'core-uses-no-packages',
      severity: 'error',
      from: { path: '^src/monitor/', pathNot: TESTS },
      to: { dependencyTypes: ['npm', 'core'] },
    },
    ...upward,
    {
      name: 'no-module-cycles',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'store-readers-stay-light',
      severity: 'error',
      comment: 'CLI commands that only read the store load neither the daemon, the poll layer nor undici',
      from: { path: '^src/commands/(?:status|history|silence|unsilence)\\.ts$' },
      to: {
        path: '^(?:src/daemon\\.ts|src/poll/|node_modules/undici/|node_modules/nodemailer/)',
        reachable: true,
      },
    },
    {
      name: 'production-does-not-import-tests',
      severity: 'error',
      from: { path: '^src/', pathNot: TESTS },
      to: { path: TESTS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // What loads at run time: type-only imports compile away, and dynamic import() is how a
    // command defers what it needs only sometimes (`status --live`, the email transport).
    exclude: { path: '^(?:dist|coverage)/', dynamic: true },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
    },
  },
};

// Fails when the top-level folders of src/ import each other in a circle (README → "How the code
// is laid out"). Reads dependency-cruiser's graph with the project's rules; type-only imports and
// tests do not count: they vanish at run time or may reach across on purpose.

import { execFileSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';

const TESTS = /(?:\.test\.ts$|\/test-support\/)/;
const topOf = (path) => /^src\/([^/]+)/.exec(path)?.[1] ?? null;

const graph = JSON.parse(
  execFileSync(
    process.execPath,
    [
      'node_modules/dependency-cruiser/bin/dependency-cruise.mjs',
      'src',
      '--config',
      '.dependency-cruiser.cjs',
      '--output-type',
      'json',
    ],
    { maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] },
  ).toString(),
);

/** folder → folder → one import that makes the edge, for the message. */
const edges = new Map();
for (const module of graph.modules) {
  const from = topOf(module.source);
  if (from === null || TESTS.test(module.source)) continue;
  for (const dep of module.dependencies) {
    const to = topOf(dep.resolved);
    if (to === null || to === from || dep.dependencyTypes.includes('type-only')) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${module.source} → ${dep.resolved}`);
  }
}

// Depth-first search; a back edge closes a cycle.
const state = new Map();
const stack = [];
const cycles = [];
function visit(folder) {
  state.set(folder, 'open');
  stack.push(folder);
  for (const next of edges.get(folder)?.keys() ?? []) {
    if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
    else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(folder, 'done');
}
for (const folder of [...edges.keys()].sort()) if (!state.has(folder)) visit(folder);

if (cycles.length === 0) {
  console.log(`folder-cycles: none among ${edges.size} folders of src/`);
} else {
  for (const cycle of cycles) {
    console.error(`folder cycle: ${cycle.join(' → ')}`);
    for (let i = 0; i + 1 < cycle.length; i++) console.error(`  ${edges.get(cycle[i]).get(cycle[i + 1])}`);
  }
  process.exitCode = 1;
}

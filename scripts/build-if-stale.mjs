// `npm run demo` runs the built CLI; this builds first only when dist/ is missing or older than
// what it is built from (npm ci already built it through `prepare`), so the demo starts at once.
// Node's globals are imported so that linting this plain JS file needs no environment settings.
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';

/** Newest modification time (ms) of the build's inputs under `root`: src/ (tests aside) and the tsconfigs. */
export function newestInput(root) {
  let newest = 0;
  const visit = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'test-support') visit(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  visit(join(root, 'src'));
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) {
    newest = Math.max(newest, statSync(join(root, file)).mtimeMs);
  }
  return newest;
}

/** Whether `root`'s dist/cli.js is missing or older than a build input. */
export function isStale(root) {
  let built;
  try {
    built = statSync(join(root, 'dist', 'cli.js')).mtimeMs;
  } catch {
    return true;
  }
  return newestInput(root) > built;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (isStale(root)) {
    console.error('dist/ is older than src/: building (npm run build)');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  }
}

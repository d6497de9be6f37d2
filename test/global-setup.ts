import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Tests that run the real binary need dist/ to match src/. Type errors do not stop the emit;
// `npm run typecheck` is what fails on them.
export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      cwd: root,
      stdio: 'pipe',
    });
  } catch {
    // reported by typecheck; the emit still happened
  }
  if (!existsSync(`${root}/dist/cli.js`)) throw new Error('build produced no dist/cli.js');
}

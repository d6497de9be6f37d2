// Importing the kit, the channel registry, the config loader or the gateway client loads neither
// undici nor nodemailer: `status` and `history` read config and the database only. Both are
// CommonJS packages, so whatever loaded them shows in the CommonJS module cache of a fresh node
// running the build (vitest's global setup builds dist/).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function heavyModulesAfter(script: string): string[] {
  const program = `
    import { createRequire } from 'node:module';
    const require = createRequire(process.cwd() + '/');
    ${script}
    const heavy = Object.keys(require.cache).filter((k) => /node_modules[\\\\/](undici|nodemailer)[\\\\/]/.test(k));
    console.log(JSON.stringify(heavy));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { cwd: ROOT });
  return JSON.parse(out.toString()) as string[];
}

describe('undici and nodemailer load on first use only', () => {
  it('not by importing config, the channel registry, the net kit or building a gateway client', () => {
    expect(
      heavyModulesAfter(`
        await import('./dist/config/load.js');
        await import('./dist/notify/channels/index.js');
        await import('./dist/notify/registry.js');
        await import('./dist/net/post-json.js');
        const { createGatewayClient } = await import('./dist/gateway/client.js');
        createGatewayClient({ baseUrl: 'http://127.0.0.1:1/api', token: 't', timeoutMs: 100 });
      `),
    ).toEqual([]);
  });

  it('the check sees them once they are used', () => {
    expect(heavyModulesAfter(`await import('undici'); await import('nodemailer');`).length).toBeGreaterThan(
      0,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { RELINK_DEFAULTS, renderRelinkPage, renderRelinkUnavailable } from './relink-page.js';

describe('renderRelinkPage', () => {
  const html = renderRelinkPage(
    {
      account: 'main',
      number: '123456789',
      name: 'Sales </script><script>alert(1)</script>',
      status: 'not_connected',
      ...RELINK_DEFAULTS,
    },
    'NONCE',
  );

  it('carries its settings as inert JSON and escapes the name everywhere', () => {
    expect(html).toContain('<script type="application/json" id="relink-config">');
    expect(html).toContain('"qrUrl":"123456789/qr"');
    expect(html).toContain('"statusUrl":"123456789/status"');
    expect(html).toContain('"maxQrFetches":8');
    expect(html).not.toContain('</script><script>alert(1)');
    expect(html).toContain('Sales \\u003c/script\\u003e');
    expect(html).toContain('Re-link Sales &lt;/script&gt;');
  });

  it('runs its script under the nonce only, loads nothing from outside', () => {
    expect(html).toContain('<script nonce="NONCE">');
    expect(html).not.toMatch(/src="http|<link\b/);
    expect(html).toContain('last status: not connected');
    expect(html).toContain('whatsgate-monitor connect 123456789');
  });
});

describe('renderRelinkUnavailable', () => {
  it('explains why and what to do', () => {
    const html = renderRelinkUnavailable('N');
    expect(html).toContain('web.basic_auth');
    expect(html).toContain('loopback');
    expect(html).toContain('whatsgate-monitor connect NUMBER');
  });
});

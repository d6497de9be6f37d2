import { runInNewContext } from 'node:vm';
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
    expect(html).toContain('last status: <span id="last-status">not connected</span>');
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

describe('the re-link page script', () => {
  // Runs the page's own script against a minimal DOM and a fetch that answers as the monitor.
  async function runPage(status: string | null, answer: unknown): Promise<Map<string, FakeElement>> {
    const html = renderRelinkPage(
      {
        account: 'main',
        number: '123',
        name: 'Sales',
        status: status as 'disconnected' | null,
        ...RELINK_DEFAULTS,
      },
      'N',
    );
    const script = /<script nonce="N">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const config =
      /<script type="application\/json" id="relink-config">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const initial = /<span id="last-status">([^<]*)<\/span>/.exec(html)?.[1] ?? '';
    const elements = new Map<string, FakeElement>();
    const element = (id: string): FakeElement => {
      let el = elements.get(id);
      if (el === undefined) {
        el = new FakeElement(id === 'relink-config' ? config : id === 'last-status' ? initial : '');
        elements.set(id, el);
      }
      return el;
    };
    const context = {
      document: { getElementById: element, addEventListener: () => undefined, hidden: false },
      fetch: () => Promise.resolve({ json: () => Promise.resolve(answer), status: 200 }),
      setTimeout: () => 0,
      clearTimeout: () => undefined,
      setInterval: () => 0,
      clearInterval: () => undefined,
      Date,
      Math,
      JSON,
      location: { reload: () => undefined },
    };
    runInNewContext(script, context);
    // the fetch and its .json() resolve on the microtask queue
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return elements;
  }

  it('a device back shows "Connected" and the last status line says connected too', async () => {
    const els = await runPage('disconnected', { status: 'connected' });
    expect(els.get('headline')?.textContent).toBe('Connected');
    expect(els.get('last-status')?.textContent).toBe('connected');
  });

  it('a device the gateway does not know says so in both places', async () => {
    const els = await runPage('disconnected', { status: 'not_found', message: 'device not found!' });
    expect(els.get('headline')?.textContent).toBe('Unknown to the gateway');
    expect(els.get('last-status')?.textContent).toBe('not found');
  });

  it('while a QR code is shown the last status stays what the monitor saw', async () => {
    const els = await runPage('disconnected', {
      status: 'qr',
      dataUrl: 'data:image/png;base64,AA==',
      fetched_at: 1,
      refresh_in_ms: 1,
    });
    expect(els.get('last-status')?.textContent).toBe('disconnected');
  });
});

class FakeElement {
  hidden = false;
  readonly attributes = new Map<string, string>();
  constructor(public textContent: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, value);
  }
  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }
  addEventListener(): void {}
}

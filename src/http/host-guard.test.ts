import { describe, expect, it } from 'vitest';
import { hostOf, isSameOrigin, isTrustedHost } from './host-guard.js';

describe('hostOf', () => {
  it.each([
    ['localhost:8749', 'localhost'],
    ['LocalHost', 'localhost'],
    ['[::1]:8749', '[::1]'],
    ['127.0.0.1', '127.0.0.1'],
    ['monitor.example.com:443', 'monitor.example.com'],
    ['a:b:c', null],
    ['user@evil', null],
    ['', null],
  ])('%j → %j', (header, host) => expect(hostOf(header)).toBe(host));
});

describe('isTrustedHost (without basic auth)', () => {
  const PUBLIC = 'https://monitor.example.com';
  it.each([
    ['localhost', null, true],
    ['localhost:8749', null, true],
    ['127.0.0.1:8749', null, true],
    ['127.0.0.2', null, true],
    ['[::1]:8749', null, true],
    ['10.1.2.3:8749', null, true], // an address: no DNS name for a rebinding page to own
    [undefined, null, true], // HTTP/1.0 without Host: not a browser
    ['evil.example', null, false],
    ['evil.example:8749', null, false],
    ['localhost.evil.example', null, false],
    ['localhost.', null, false],
    ['monitor.example.com', null, false],
    ['monitor.example.com', PUBLIC, true],
    ['MONITOR.example.com:8749', PUBLIC, true],
    ['other.example.com', PUBLIC, false],
    ['a b', null, false],
  ] as const)('Host %j, public_url %j → %j', (header, publicUrl, trusted) => {
    expect(isTrustedHost(header, publicUrl)).toBe(trusted);
  });
});

describe('isSameOrigin', () => {
  it.each([
    [undefined, 'localhost:8749', null, true],
    ['http://localhost:8749', 'localhost:8749', null, true],
    ['http://127.0.0.1', '127.0.0.1:80', null, true],
    ['https://monitor.example.com', 'localhost:8749', 'https://monitor.example.com', true],
    ['http://localhost:8750', 'localhost:8749', null, false],
    ['http://evil.example', 'localhost:8749', null, false],
    ['https://evil.example', 'evil.example', 'https://monitor.example.com', true], // Host guard's job
    ['null', 'localhost:8749', null, false],
    ['http://evil.example', undefined, null, false],
  ] as const)('Origin %j, Host %j, public_url %j → %j', (origin, host, publicUrl, same) => {
    expect(isSameOrigin(origin, host, publicUrl)).toBe(same);
  });
});

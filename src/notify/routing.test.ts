import { describe, expect, it } from 'vitest';
import type { MonitorAlert } from './events.js';
import { routeAlert, type NotifyConfig } from './routing.js';
import { accountAlert, deviceAlert } from './test-support/fixtures.js';

const channels = {} as NotifyConfig['channels'];
const notify: NotifyConfig = {
  default: ['ops'],
  routes: [
    { match: { team: 'sales' }, channels: ['sales', 'ops'] },
    { match: { team: 'sales', site: 'berlin' }, channels: ['berlin'] },
    { match: { account: 'second' }, channels: ['second-team'] },
    { match: { device: '777' }, channels: ['vip', 'sales'] },
  ],
  channels,
};

describe('routeAlert', () => {
  it.each<[string, MonitorAlert, string[]]>([
    ['no route matches → default', deviceAlert({ labels: { team: 'support' } }), ['ops']],
    ['no labels → default', deviceAlert(), ['ops']],
    ['one route matches', deviceAlert({ labels: { team: 'sales' } }), ['sales', 'ops']],
    [
      'every key of a route must match',
      deviceAlert({ labels: { team: 'sales', site: 'hamburg' } }),
      ['sales', 'ops'],
    ],
    [
      'several routes match → the union, each channel once',
      deviceAlert({ labels: { team: 'sales', site: 'berlin' } }),
      ['sales', 'ops', 'berlin'],
    ],
    [
      'routes may match the implicit device label',
      deviceAlert({ number: '777', labels: { team: 'sales' } }),
      ['sales', 'ops', 'vip'],
    ],
    ['routes may match the implicit account label', deviceAlert({ account: 'second' }), ['second-team']],
    [
      'the device’s own channels override every route',
      deviceAlert({ labels: { team: 'sales' }, channels: ['pager'] }),
      ['pager'],
    ],
    ['an empty channels list silences the device', deviceAlert({ channels: [] }), []],
    ['account events go to default', accountAlert(), ['ops']],
    ['…unless a route matches on the account alone', accountAlert({ account: 'second' }), ['second-team']],
  ])('%s', (_name, alert, expected) => {
    expect(routeAlert(alert, notify)).toEqual(expected);
  });

  it('a route asking for a device label never claims an account event', () => {
    const only: NotifyConfig = {
      default: [],
      routes: [{ match: { team: 'x', account: 'main' }, channels: ['x'] }],
      channels,
    };
    expect(routeAlert(accountAlert(), only)).toEqual([]);
  });

  it('an empty match claims everything', () => {
    const all: NotifyConfig = { default: ['ops'], routes: [{ match: {}, channels: ['all'] }], channels };
    expect(routeAlert(accountAlert(), all)).toEqual(['all']);
    expect(routeAlert(deviceAlert(), all)).toEqual(['all']);
  });
});

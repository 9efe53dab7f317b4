import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isPrivateIPv4, parseDefaultRouteInterfaces, pickLanAddress } from './interfaces';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal,
  cidr: `${address}/24`,
});
const v6 = (address: string): NetworkInterfaceInfo => ({ address, netmask: 'ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/64`, scopeid: 0 });

describe('isPrivateIPv4', () => {
  it.each([
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.254', true],
    ['172.32.0.1', false],
    ['172.15.0.1', false],
    ['192.168.1.5', true],
    ['192.169.1.5', false],
    ['8.8.8.8', false],
    ['169.254.10.1', false],
    ['127.0.0.1', false],
    ['100.64.0.1', false],
    ['300.1.1.1', false],
    ['fe80::1', false],
  ])('%s → %s', (address, expected) => {
    expect(isPrivateIPv4(address)).toBe(expected);
  });
});

describe('pickLanAddress', () => {
  it('skips loopback, public, link-local and IPv6 addresses', () => {
    const picked = pickLanAddress({
      interfaces: { lo: [v4('127.0.0.1', true)], eth9: [v4('8.8.4.4'), v6('fe80::1')], eth1: [v4('169.254.3.3')], wlan0: [v4('192.168.1.40')] },
    });
    expect(picked).toEqual({ address: '192.168.1.40', interfaceName: 'wlan0' });
  });

  it('prefers the interface with the default route over a virtual bridge', () => {
    const interfaces = { docker0: [v4('172.17.0.1')], wlp2s0: [v4('10.1.2.3')] };
    expect(pickLanAddress({ interfaces, defaultRouteInterfaces: new Set(['wlp2s0']) })?.address).toBe('10.1.2.3');
  });

  it('without route data (as on Windows), prefers a real adapter over Hyper-V and VirtualBox ones', () => {
    const interfaces = {
      'vEthernet (Default Switch)': [v4('172.20.160.1')],
      'VirtualBox Host-Only Network': [v4('192.168.56.1')],
      'Wi-Fi': [v4('192.168.0.17')],
    };
    expect(pickLanAddress({ interfaces })).toEqual({ address: '192.168.0.17', interfaceName: 'Wi-Fi' });
  });

  it('honours a configured override only when it is a private address on this PC', () => {
    const interfaces = { eth0: [v4('192.168.1.10')], eth1: [v4('10.0.0.10')] };
    expect(pickLanAddress({ interfaces, override: '10.0.0.10' })?.address).toBe('10.0.0.10');
    // not on this PC: ignored, and the usual choice (no route data: first by name) is made
    expect(pickLanAddress({ interfaces, override: '203.0.113.5' })?.address).toBe('192.168.1.10');
  });

  it('returns undefined when there is no private IPv4', () => {
    expect(pickLanAddress({ interfaces: { lo: [v4('127.0.0.1', true)] } })).toBeUndefined();
  });
});

describe('parseDefaultRouteInterfaces', () => {
  it('finds the interfaces with an up default route in /proc/net/route', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'wlp2s0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'wlp2s0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
      'tun0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0',
      '',
    ].join('\n');
    expect([...parseDefaultRouteInterfaces(text)]).toEqual(['wlp2s0']);
  });
});

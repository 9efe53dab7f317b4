/**
 * Network self-diagnosis, fed with recorded outputs of the Windows commands (fixtures/, captured as the commands
 * print them, CRLF line ends included) — one case per cause a phone could not reach the PC.
 */
import { readFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { bestRoute, diagnoseNetwork, type DiagnosisInput } from './diagnose';
import { parseConnectionProfiles, parseFirewallRules, parseRoutes } from './parse';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const v4 = (address: string, netmask = '255.255.255.0'): NetworkInterfaceInfo => ({ address, netmask, family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/24` });
const WIFI = { 'Wi-Fi': [v4('192.168.1.23')], 'Loopback Pseudo-Interface 1': [{ ...v4('127.0.0.1', '255.0.0.0'), internal: true }] };
const healthy: DiagnosisInput = {
  lanAddress: { address: '192.168.1.23', interfaceName: 'Wi-Fi' },
  interfaces: WIFI,
  port: 47800,
  connectionProfiles: fixture('profile-private.txt'),
  firewallRule: fixture('firewall-rule.txt'),
  routePrint: fixture('route-plain.txt'),
};
const codes = (input: DiagnosisInput) => diagnoseNetwork(input).map((f) => f.code);

describe('parsers (recorded Windows output)', () => {
  it('Get-NetConnectionProfile: one profile per network', () => {
    expect(parseConnectionProfiles(fixture('profile-public.txt'))).toEqual([
      { name: 'Network 3', interfaceAlias: 'Wi-Fi', category: 'Public' },
      { name: 'Unidentified network', interfaceAlias: 'vEthernet (Default Switch)', category: 'Public' },
    ]);
  });
  it('netsh show rule: the rule, or none', () => {
    expect(parseFirewallRules(fixture('firewall-rule.txt'))).toEqual([
      { name: 'ClinicPro Images (LAN)', enabled: true, direction: 'In', profiles: ['Private'], protocol: 'TCP', localPort: '47800', action: 'Allow' },
    ]);
    expect(parseFirewallRules(fixture('firewall-missing.txt'))).toEqual([]);
  });
  it('route print: active routes and the interface list', () => {
    const routes = parseRoutes(fixture('route-vpn.txt'));
    expect(routes).toHaveLength(7);
    expect(bestRoute(routes, '192.168.1.40')).toMatchObject({ gateway: '10.200.0.1', interfaceAddress: '10.200.0.57', metric: 2 });
    expect(bestRoute(parseRoutes(fixture('route-plain.txt')), '192.168.1.40')).toMatchObject({ gateway: 'On-link', interfaceAddress: '192.168.1.23' });
  });
});

describe('diagnoseNetwork', () => {
  it('a healthy practice PC: nothing to report', () => {
    expect(diagnoseNetwork(healthy)).toEqual([]);
  });

  it('no LAN address at all', () => {
    const [f] = diagnoseNetwork({ ...healthy, lanAddress: undefined, interfaces: { 'Loopback Pseudo-Interface 1': [{ ...v4('127.0.0.1'), internal: true }] } });
    expect(f).toMatchObject({ code: 'no-lan-address', title: 'This PC is not connected to the practice network.' });
    expect(f?.fix).toMatch(/Connect it to the practice Wi-Fi or network cable/);
  });

  it('a self-assigned 169.254 address: the network gave it none', () => {
    expect(codes({ ...healthy, lanAddress: undefined, interfaces: { Ethernet: [v4('169.254.10.4', '255.255.0.0')] } })).toEqual(['no-dhcp-address']);
  });

  it('only a public address: not a private practice network', () => {
    expect(codes({ ...healthy, lanAddress: undefined, interfaces: { Ethernet: [v4('203.0.113.7')] } })).toEqual(['address-not-private']);
  });

  it('the Windows network profile is Public', () => {
    const [f] = diagnoseNetwork({ ...healthy, connectionProfiles: fixture('profile-public.txt') });
    expect(f?.code).toBe('profile-public');
    expect(f?.title).toBe('Windows treats the network "Network 3" as Public, so it stops phones reaching this PC.');
    expect(f?.fix).toContain('Network profile type: Private');
  });

  it('the firewall rule is missing, or switched off', () => {
    expect(codes({ ...healthy, firewallRule: fixture('firewall-missing.txt') })).toEqual(['firewall-missing']);
    expect(codes({ ...healthy, firewallRule: fixture('firewall-disabled.txt') })).toEqual(['firewall-disabled']);
    // A rule for another port does not count.
    expect(codes({ ...healthy, port: 47801 })).toEqual(['firewall-missing']);
  });

  it('a VPN adapter holds the route to the practice network, and is named', () => {
    const [f] = diagnoseNetwork({ ...healthy, interfaces: { ...WIFI, 'Cisco AnyConnect': [v4('10.200.0.57', '255.255.0.0')] }, routePrint: fixture('route-vpn.txt') });
    expect(f?.code).toBe('vpn-route');
    expect(f?.title).toBe("A VPN (Cisco AnyConnect) carries this PC's traffic for the practice network, so phones cannot reach it.");
    expect(f?.fix).toMatch(/Disconnect the VPN/);
  });

  it('several causes at once are all named; outputs that could not be read are skipped, not guessed', () => {
    expect(codes({ ...healthy, connectionProfiles: fixture('profile-public.txt'), firewallRule: fixture('firewall-missing.txt') })).toEqual(['profile-public', 'firewall-missing']);
    expect(codes({ lanAddress: healthy.lanAddress, interfaces: WIFI, port: 47800 })).toEqual([]);
  });
});

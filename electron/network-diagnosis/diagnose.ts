/** What would stop a phone on the practice Wi-Fi reaching this PC, in plain words with the fix. Pure. */
import type { NetworkInterfaceInfo } from 'node:os';
import type { PhoneView } from '../../shared/contracts/bridge';
import type { LanAddress } from '../lan/interfaces';
import { parseConnectionProfiles, parseFirewallRules, parseRoutes, type Route } from './parse';

type FindingCode = keyof typeof WORDS;

/** What the phone panel shows (the bridge's PhoneView.network). */
export type Finding = NonNullable<PhoneView['network']>[number] & { code: FindingCode };

/** Text of `Get-NetConnectionProfile | Format-List`, `netsh advfirewall firewall show rule name=<rule>`, `route print -4`. */
export type WindowsNetwork = Partial<Record<'connectionProfiles' | 'firewallRule' | 'routePrint', string>>;

/** The commands' texts are absent off Windows or when a command failed. */
export type DiagnosisInput = WindowsNetwork & {
  /** What the QR code would advertise (electron/lan pickLanAddress). */
  lanAddress: LanAddress | undefined;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  port: number;
};

export const FIREWALL_RULE_NAME = 'ClinicPro Images (LAN)';

type Facts = { network?: string; adapter?: string; port?: number; vpn?: string };

/** Each cause (its code) with its title (one sentence a GP understands) and fix. */
const WORDS = {
  'no-lan-address': () => ['This PC is not connected to the practice network.', 'Connect it to the practice Wi-Fi or network cable.'],
  'no-dhcp-address': () => [
    'This PC is plugged in but the practice network gave it no address.',
    'Unplug and reconnect the network cable or Wi-Fi, or restart the router; if it stays, call practice IT.',
  ],
  'address-not-private': () => [
    'This PC is not on a private practice network (its address is a public internet address), so phone upload is switched off.',
    'Connect the PC to the practice Wi-Fi or network cable, behind the practice router.',
  ],
  'profile-public': (f) => [
    `Windows treats the network "${f.network}" as Public, so it stops phones reaching this PC.`,
    `Ask practice IT to set it to Private (Settings → Network & internet → ${f.adapter} → Network profile type: Private).`,
  ],
  'firewall-missing': (f) => [
    'The Windows Firewall rule that lets phones reach ClinicPro Images is missing.',
    `Ask practice IT to repair the ClinicPro Images install (it adds the rule "${FIREWALL_RULE_NAME}" for private networks, port ${f.port}).`,
  ],
  'firewall-disabled': () => [
    'The Windows Firewall rule that lets phones reach ClinicPro Images is switched off.',
    `Ask practice IT to enable the rule "${FIREWALL_RULE_NAME}" in Windows Defender Firewall.`,
  ],
  'vpn-route': (f) => [
    `A VPN (${f.vpn}) carries this PC's traffic for the practice network, so phones cannot reach it.`,
    'Disconnect the VPN while using the phone, or ask practice IT to allow local network access in the VPN.',
  ],
} satisfies Record<string, (f: Facts) => [title: string, fix: string]>;

function finding(code: FindingCode, facts: Facts = {}): Finding {
  const [title, fix] = WORDS[code](facts);
  return { code, title, fix: `${fix} Then open the phone QR code again.` };
}

export function diagnoseNetwork(input: DiagnosisInput): Finding[] {
  const lan = input.lanAddress;
  if (lan === undefined) return [finding(noAddressCause(input.interfaces))];
  const findings: Finding[] = [];
  const profile = input.connectionProfiles === undefined ? undefined : parseConnectionProfiles(input.connectionProfiles).find((p) => p.interfaceAlias === lan.interfaceName);
  if (profile?.category === 'Public') findings.push(finding('profile-public', { network: profile.name, adapter: lan.interfaceName }));
  if (input.firewallRule !== undefined) {
    const rules = parseFirewallRules(input.firewallRule).filter((r) => r.direction === 'In' && r.action === 'Allow' && portMatches(r.localPort, input.port) && /^(tcp|any)$/i.test(r.protocol));
    const forPrivate = rules.filter((r) => r.profiles.some((p) => /^(private|any)$/i.test(p)));
    if (forPrivate.length === 0) findings.push(finding('firewall-missing', { port: input.port }));
    else if (!forPrivate.some((r) => r.enabled)) findings.push(finding('firewall-disabled'));
  }
  const vpn = input.routePrint === undefined ? undefined : vpnHoldingRoute(lan.address, input.interfaces, parseRoutes(input.routePrint));
  if (vpn !== undefined) findings.push(finding('vpn-route', { vpn }));
  return findings;
}

function noAddressCause(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): FindingCode {
  const v4 = Object.values(interfaces).flatMap((list) => (list ?? []).filter((i) => i.family === 'IPv4' && !i.internal));
  if (v4.some((i) => i.address.startsWith('169.254.'))) return 'no-dhcp-address';
  return v4.length > 0 ? 'address-not-private' : 'no-lan-address';
}

function portMatches(spec: string, port: number): boolean {
  if (/^any$/i.test(spec.trim())) return true;
  return spec.split(',').some((part) => {
    const [lo, hi] = part.trim().split('-').map(Number);
    if (lo === undefined || Number.isNaN(lo)) return false;
    return hi === undefined ? lo === port : port >= lo && port <= hi;
  });
}

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

/** The route Windows would take to `target`: longest prefix, then lowest metric. */
export function bestRoute(routes: readonly Route[], target: string): Route | undefined {
  const t = toInt(target);
  const matching = routes.filter((r) => {
    const mask = toInt(r.netmask);
    return ((t & mask) >>> 0) === ((toInt(r.destination) & mask) >>> 0);
  });
  const bits = (r: Route): number => toInt(r.netmask).toString(2).replace(/0/g, '').length;
  return matching.sort((a, b) => bits(b) - bits(a) || a.metric - b.metric)[0];
}

/** The adapter name of a VPN that would carry replies to a phone on the LAN, or undefined when the LAN adapter does. */
function vpnHoldingRoute(lanAddress: string, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, routes: readonly Route[]): string | undefined {
  const info = Object.values(interfaces).flatMap((l) => l ?? []).find((i) => i.address === lanAddress);
  const mask = toInt(info?.netmask ?? '255.255.255.0');
  const network = (toInt(lanAddress) & mask) >>> 0;
  let phone = network + 1;
  if (phone === toInt(lanAddress)) phone += 1;
  const target = [24, 16, 8, 0].map((s) => (phone >>> s) & 255).join('.');
  const route = bestRoute(routes, target);
  if (route === undefined || route.interfaceAddress === lanAddress) return undefined;
  const name = Object.entries(interfaces).find(([, list]) => (list ?? []).some((i) => i.address === route.interfaceAddress))?.[0];
  return name ?? `the adapter with address ${route.interfaceAddress}`;
}

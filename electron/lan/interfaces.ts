/** The LAN address the QR code advertises and the server binds. */
import { readFileSync } from 'node:fs';
import { networkInterfaces, platform as osPlatform, type NetworkInterfaceInfo } from 'node:os';

export interface LanAddress {
  address: string;
  interfaceName: string;
}

interface PickLanAddressInput {
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** Linux: from /proc/net/route. */
  defaultRouteInterfaces?: ReadonlySet<string> | undefined;
  /** Used when it is a private IPv4 present on this PC. */
  override?: string | undefined;
}

/** Adapter names of virtual switches, VPNs and container bridges: never the practice Wi-Fi or Ethernet. */
const VIRTUAL_ADAPTER = /vethernet|virtualbox|vmware|hyper-v|wsl|docker|vbox|tap-|tun|tailscale|zerotier|wireguard|loopback|bluetooth|npcap|^veth|^br-|^virbr|^lxc|^cni|^flannel/i;

/** 10/8, 172.16/12 and 192.168/16. */
export function isPrivateIPv4(address: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m) return false;
  const [a, b, c, d] = m.slice(1).map(Number) as [number, number, number, number];
  if ([a, b, c, d].some((n) => n > 255)) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** A private, non-internal IPv4: the default route's interface first, then a non-virtual adapter, then by name. */
export function pickLanAddress(input: PickLanAddressInput): LanAddress | undefined {
  const candidates: LanAddress[] = [];
  for (const [interfaceName, infos] of Object.entries(input.interfaces)) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv4' && !info.internal && isPrivateIPv4(info.address)) candidates.push({ address: info.address, interfaceName });
    }
  }
  if (input.override !== undefined) {
    const chosen = candidates.find((c) => c.address === input.override);
    if (chosen) return chosen;
  }
  const routes = input.defaultRouteInterfaces ?? new Set<string>();
  const score = (c: LanAddress): number => (routes.has(c.interfaceName) ? 0 : 2) + (VIRTUAL_ADAPTER.test(c.interfaceName) ? 1 : 0);
  return [...candidates].sort((x, y) => score(x) - score(y) || x.interfaceName.localeCompare(y.interfaceName))[0];
}

/** Interfaces with a default route (destination 00000000) in the text of Linux's /proc/net/route. */
export function parseDefaultRouteInterfaces(procNetRoute: string): Set<string> {
  const result = new Set<string>();
  for (const line of procNetRoute.split('\n').slice(1)) {
    const [iface, destination, , flags] = line.trim().split(/\s+/);
    // RTF_UP (0x1) must be set.
    if (iface && destination === '00000000' && flags !== undefined && (Number.parseInt(flags, 16) & 1) === 1) result.add(iface);
  }
  return result;
}

export function detectLanAddress(override?: string): LanAddress | undefined {
  let defaultRouteInterfaces: Set<string> | undefined;
  try {
    if (osPlatform() === 'linux') defaultRouteInterfaces = parseDefaultRouteInterfaces(readFileSync('/proc/net/route', 'utf8'));
  } catch {
    defaultRouteInterfaces = undefined;
  }
  return pickLanAddress({ interfaces: networkInterfaces(), defaultRouteInterfaces, override });
}

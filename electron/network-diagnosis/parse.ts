/** Pure parsers for what the three Windows commands of `index.ts` print (tested with recorded outputs in `fixtures/`). */

export interface ConnectionProfile {
  name: string;
  interfaceAlias: string;
  category: 'Public' | 'Private' | 'DomainAuthenticated' | 'Unknown';
}

export interface FirewallRule {
  name: string;
  enabled: boolean;
  direction: 'In' | 'Out' | 'Unknown';
  /** e.g. ['Domain', 'Private'] or ['Any']. */
  profiles: string[];
  protocol: string;
  localPort: string;
  action: 'Allow' | 'Block' | 'Unknown';
}

export interface Route {
  destination: string;
  netmask: string;
  /** An address, or 'On-link'. */
  gateway: string;
  interfaceAddress: string;
  metric: number;
}

/** Blocks of `Key : Value` (or `Key: Value`) lines, split where `separator` matches. */
function blocks(text: string, separator: RegExp): Record<string, string>[] {
  const out: Record<string, string>[] = [{}];
  for (const line of text.split(/\r?\n/).map((l) => l.trimEnd())) {
    if (separator.test(line) && Object.keys(out.at(-1)!).length > 0) out.push({});
    const m = /^([A-Za-z][A-Za-z0-9 ]*?)\s*:\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined) out.at(-1)![m[1].trim()] = (m[2] ?? '').trim();
  }
  return out.filter((b) => Object.keys(b).length > 0);
}

export function parseConnectionProfiles(text: string): ConnectionProfile[] {
  return blocks(text, /^$/)
    .filter((b) => b.InterfaceAlias !== undefined)
    .map((b) => {
      const c = b.NetworkCategory;
      return { name: b.Name ?? '', interfaceAlias: b.InterfaceAlias ?? '', category: c === 'Public' || c === 'Private' || c === 'DomainAuthenticated' ? c : 'Unknown' };
    });
}

export function parseFirewallRules(text: string): FirewallRule[] {
  if (/No rules match/i.test(text)) return [];
  return blocks(text, /^Rule Name:/)
    .filter((b) => b['Rule Name'] !== undefined)
    .map((b) => ({
      name: b['Rule Name'] ?? '',
      enabled: /^yes$/i.test(b.Enabled ?? ''),
      direction: b.Direction === 'In' || b.Direction === 'Out' ? b.Direction : 'Unknown',
      profiles: (b.Profiles ?? '').split(',').map((p) => p.trim()).filter((p) => p !== ''),
      protocol: b.Protocol ?? '',
      localPort: b.LocalPort ?? '',
      action: b.Action === 'Allow' || b.Action === 'Block' ? b.Action : 'Unknown',
    }));
}

const IPV4 = String.raw`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`;
const ROUTE_LINE = new RegExp(String.raw`^\s*(${IPV4})\s+(${IPV4})\s+(${IPV4}|On-link)\s+(${IPV4})\s+(\d+)\s*$`);

/** The active IPv4 routes of `route print -4` (persistent routes are not in force by themselves). */
export function parseRoutes(text: string): Route[] {
  const routes: Route[] = [];
  let active = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^Active Routes:/.test(line)) active = true;
    else if (/^Persistent Routes:/.test(line)) active = false;
    const m = active ? ROUTE_LINE.exec(line) : null;
    if (m) routes.push({ destination: m[1]!, netmask: m[2]!, gateway: m[3]!, interfaceAddress: m[4]!, metric: Number(m[5]) });
  }
  return routes;
}

import { networkInterfaces, platform } from 'node:os';
import { detectLanAddress } from '../lan/interfaces';
import { diagnoseNetwork, type Finding } from './diagnose';
import { readWindowsNetwork } from './windows';

export { diagnoseNetwork, type DiagnosisInput, type Finding, type FindingCode, FIREWALL_RULE_NAME } from './diagnose';
export { parseConnectionProfiles, parseFirewallRules, parseInterfaceList, parseRoutes } from './parse';

/**
 * The live check the phone panel runs before it shows the QR code. `bindHost` is where the LAN server listens:
 * a loopback server (development, tests) has no LAN to diagnose.
 */
export async function checkPhoneNetwork(input: { bindHost: string; port: number; override?: string }): Promise<Finding[]> {
  if (input.bindHost === '127.0.0.1' || input.bindHost === 'localhost' || input.bindHost === '::1') return [];
  const windows = platform() === 'win32' ? await readWindowsNetwork() : {};
  return diagnoseNetwork({ lanAddress: detectLanAddress(input.override), interfaces: networkInterfaces(), port: input.port, ...windows });
}

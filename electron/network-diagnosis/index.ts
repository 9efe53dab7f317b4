import { networkInterfaces, platform } from 'node:os';
import { detectLanAddress } from '../lan/interfaces';
import { diagnoseNetwork, type Finding } from './diagnose';
import { readWindowsNetwork } from './windows';

/** The live check the phone panel runs before it shows the QR code; a loopback server has no LAN to diagnose. */
export async function checkPhoneNetwork(input: { bindHost: string; port: number; override?: string }): Promise<Finding[]> {
  if (input.bindHost === '127.0.0.1' || input.bindHost === 'localhost' || input.bindHost === '::1') return [];
  const windows = platform() === 'win32' ? await readWindowsNetwork() : {};
  return diagnoseNetwork({ lanAddress: detectLanAddress(input.override), interfaces: networkInterfaces(), port: input.port, ...windows });
}

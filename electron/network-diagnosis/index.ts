/** The live check before the phone QR code: runs the Windows commands (a failed one is left out, never guessed), then diagnoses. */
import { execFile } from 'node:child_process';
import { networkInterfaces, platform } from 'node:os';
import { detectLanAddress } from '../lan/interfaces';
import { diagnoseNetwork, FIREWALL_RULE_NAME, type Finding, type WindowsNetwork } from './diagnose';

const TIMEOUT_MS = 5000;

function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (err, stdout) => {
      // netsh exits 1 with "No rules match…" on stdout: that text is the answer.
      resolve(stdout.length > 0 ? stdout : err ? undefined : '');
    });
  });
}

const COMMANDS: Record<keyof WindowsNetwork, [string, string[]]> = {
  connectionProfiles: ['powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', 'Get-NetConnectionProfile | Format-List Name,InterfaceAlias,InterfaceIndex,NetworkCategory']],
  firewallRule: ['netsh.exe', ['advfirewall', 'firewall', 'show', 'rule', `name=${FIREWALL_RULE_NAME}`]],
  routePrint: ['route.exe', ['print', '-4']],
};

async function readWindowsNetwork(): Promise<WindowsNetwork> {
  const outputs = await Promise.all(Object.entries(COMMANDS).map(async ([key, [file, args]]) => [key, await run(file, args)] as const));
  return Object.fromEntries(outputs.filter(([, text]) => text !== undefined));
}

/** A loopback server (development, tests) has no LAN to diagnose. */
export async function checkPhoneNetwork(input: { bindHost: string; port: number; override?: string }): Promise<Finding[]> {
  if (input.bindHost === '127.0.0.1' || input.bindHost === 'localhost' || input.bindHost === '::1') return [];
  const windows = platform() === 'win32' ? await readWindowsNetwork() : {};
  return diagnoseNetwork({ lanAddress: detectLanAddress(input.override), interfaces: networkInterfaces(), port: input.port, ...windows });
}

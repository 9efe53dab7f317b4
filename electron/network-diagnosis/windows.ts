/** Runs the three Windows commands the diagnosis reads (Windows only); a failed one is left out, never guessed. */
import { execFile } from 'node:child_process';
import { FIREWALL_RULE_NAME, type WindowsNetwork } from './diagnose';

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

export async function readWindowsNetwork(): Promise<WindowsNetwork> {
  const outputs = await Promise.all(Object.entries(COMMANDS).map(async ([key, [file, args]]) => [key, await run(file, args)] as const));
  return Object.fromEntries(outputs.filter(([, text]) => text !== undefined));
}

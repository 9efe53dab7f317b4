/**
 * Reads the three Windows outputs the diagnosis needs. Runs only on Windows (PowerShell, netsh and route are
 * Windows programs); each command has a short timeout and a failure simply leaves its output out (the diagnosis
 * then skips that check rather than guessing). Not unit-tested here: it only runs the commands; the parsing and
 * the decisions are in parse.ts and diagnose.ts, tested with recorded outputs.
 */
import { execFile } from 'node:child_process';
import { FIREWALL_RULE_NAME } from './diagnose';

const TIMEOUT_MS = 5000;

function run(file: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (err, stdout) => {
      // netsh exits 1 with "No rules match…" on stdout: that text is the answer.
      resolve(stdout.length > 0 ? stdout : err ? undefined : '');
    });
  });
}

export async function readWindowsNetwork(): Promise<{ connectionProfiles?: string; firewallRule?: string; routePrint?: string }> {
  const [connectionProfiles, firewallRule, routePrint] = await Promise.all([
    run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', 'Get-NetConnectionProfile | Format-List Name,InterfaceAlias,InterfaceIndex,NetworkCategory']),
    run('netsh.exe', ['advfirewall', 'firewall', 'show', 'rule', `name=${FIREWALL_RULE_NAME}`]),
    run('route.exe', ['print', '-4']),
  ]);
  return {
    ...(connectionProfiles === undefined ? {} : { connectionProfiles }),
    ...(firewallRule === undefined ? {} : { firewallRule }),
    ...(routePrint === undefined ? {} : { routePrint }),
  };
}

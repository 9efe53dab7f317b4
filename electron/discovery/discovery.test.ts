/**
 * DNS-SD for real, isolated from the practice network: each probe runs in a private network namespace
 * (`unshare -n`) whose only interface is loopback, with multicast routed to it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { instanceName } from './advertiser';

const root = fileURLToPath(new URL('../..', import.meta.url));
const canUnshare = spawnSync('unshare', ['-n', 'true']).status === 0;
if (!canUnshare) console.warn('DNS-SD namespace tests skipped: `unshare -n` is not permitted here (needs root or user namespaces).');

function probe(mode: string): { status: number | null; result: Record<string, unknown> } {
  const script = `ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec node_modules/.bin/tsx electron/discovery/testkit/namespace-probe.ts ${mode}`;
  const run = spawnSync('unshare', ['-n', 'sh', '-c', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let result: Record<string, unknown> = {};
  try {
    result = JSON.parse(line) as Record<string, unknown>;
  } catch {
    result = { stdout: run.stdout, stderr: run.stderr };
  }
  return { status: run.status, result };
}

describe('DNS-SD advertisement', () => {
  it.skipIf(!canUnshare)('is discovered as _clinicpro-images._tcp with its TXT record (private network namespace)', () => {
    const { status, result } = probe('find');
    expect(status, JSON.stringify(result)).toBe(0);
    expect(result.found).toEqual([
      expect.objectContaining({ name: 'ClinicPro Images Room 3 PC7QX2', port: 47800, txt: { v: '1', room: 'Room 3', id: 'PC7QX2' } }),
    ]);
  });

  it.skipIf(!canUnshare)('logs a socket error (address not on this host) instead of crashing', () => {
    const { status, result } = probe('bad-interface');
    expect(status, JSON.stringify(result)).toBe(0);
    expect(result).toMatchObject({ errorLogged: true, line: { errCode: 'EADDRNOTAVAIL', msg: 'DNS-SD error' } });
  });

  it('instance names fit one DNS label and carry no odd characters', () => {
    expect(instanceName('Room 3', 'PC7QX2')).toBe('ClinicPro Images Room 3 PC7QX2');
    const long = instanceName('Treatment room with a very very long name indeed <script>', 'ABCD1234');
    expect(Buffer.byteLength(long, 'utf8')).toBeLessThanOrEqual(63);
    expect(long).not.toMatch(/[<>]/);
    expect(instanceName('   ', 'ABCD')).toBe('ClinicPro Images PC ABCD');
  });
});

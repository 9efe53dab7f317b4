import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
let child: ChildProcessWithoutNullStreams | null = null;

afterEach(() => {
  if (child !== null && child.exitCode === null) child.kill('SIGKILL');
  child = null;
});

function run(env: Record<string, string>): { proc: ChildProcessWithoutNullStreams; out: () => string; exited: Promise<number | null> } {
  const proc = spawn(tsx, ['gateway/src/sandbox/cli.ts'], { cwd: root, env: { ...process.env, SANDBOX_LOG_LEVEL: 'warn', ...env } });
  child = proc;
  let text = '';
  proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, out: () => text, exited };
}

function waitForLine(proc: ChildProcessWithoutNullStreams, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        proc.stdout.off('data', onData);
        resolve(m);
      }
    };
    proc.stdout.on('data', onData);
    proc.on('exit', () => reject(new Error(`exited before printing ${pattern}: ${text}`)));
  });
}

describe('npm run sandbox (cli.ts)', () => {
  it('starts on SANDBOX_PORT, prints URLs and credentials, applies SANDBOX_FAULTS, stops on SIGTERM', async () => {
    const { proc, out, exited } = run({ SANDBOX_PORT: '0', SANDBOX_FAULTS: '[{"kind":"status503","facilityId":"F99669-C"}]' });
    const m = await waitForLine(proc, /FHIR base\s+(http:\/\/127\.0\.0\.1:\d+)\/FHIR\n/);
    const url = m[1]!;
    expect(out()).toMatch(/client_secret\s+sandbox-client-secret-not-a-real-secret/);
    expect(out()).toMatch(/token URL\s+http:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+\/oauth2\/v2\.0\/token/);
    const faults = (await (await fetch(`${url}/_sandbox/faults`)).json()) as { rules: { kind: string; facilityId: string }[] };
    expect(faults.rules).toMatchObject([{ kind: 'status503', facilityId: 'F99669-C' }]);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out()).not.toMatch(/ZZZ0016|Testpatient|Aroha/);
  });

  it('refuses bad SANDBOX_FAULTS with a clear message and exit code 1', async () => {
    const { out, exited } = run({ SANDBOX_PORT: '0', SANDBOX_FAULTS: '[{"kind":"explode"}]' });
    expect(await exited).toBe(1);
    expect(out()).toMatch(/Sandbox failed to start: .*Fault rule: kind must be one of/);
  });

  it('refuses a bad SANDBOX_PORT', async () => {
    const { out, exited } = run({ SANDBOX_PORT: 'eighty' });
    expect(await exited).toBe(1);
    expect(out()).toMatch(/SANDBOX_PORT must be a port number/);
  });
});

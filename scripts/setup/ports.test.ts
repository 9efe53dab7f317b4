import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describePorts, explainListenError, portsFromEnv } from './ports';

describe('the ports npm start opens', () => {
  it('are fixed by default, the sandbox included, and each can be set', () => {
    expect(portsFromEnv({})).toEqual({ gateway: 47700, sandbox: 47710, launch: 47900, lan: { host: '127.0.0.1', port: 47800 }, host: 47910 });
    expect(
      portsFromEnv({ GATEWAY_PORT: '5001', SANDBOX_PORT: '5002', CLINICPRO_LAUNCH_PORT: '5003', CLINICPRO_LAN_HOST: '192.168.1.20', CLINICPRO_LAN_PORT: '5004', CLINICPRO_HOST_PORT: '5005' }),
    ).toEqual({ gateway: 5001, sandbox: 5002, launch: 5003, lan: { host: '192.168.1.20', port: 5004 }, host: 5005 });
  });

  it('refuses a value that is not a port, and two services on one port, saying which variable', () => {
    expect(() => portsFromEnv({ SANDBOX_PORT: 'abc' })).toThrow('SANDBOX_PORT must be a port number from 1 to 65535, not "abc"');
    expect(() => portsFromEnv({ GATEWAY_PORT: '70000' })).toThrow(/GATEWAY_PORT must be a port number/);
    expect(() => portsFromEnv({ CLINICPRO_HOST_PORT: '47700' })).toThrow('GATEWAY_PORT and CLINICPRO_HOST_PORT are both 47700: give each its own port');
  });

  it('names the service and the variable when a port is taken (a real EADDRINUSE)', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as { port: number }).port;
    const second = createServer();
    const err = await new Promise<unknown>((r) => {
      second.once('error', r);
      second.listen(taken, '127.0.0.1');
    });
    holder.close();
    const ports = portsFromEnv({ SANDBOX_PORT: String(taken) });
    expect(explainListenError(err, ports)).toBe(`port ${taken} (ALEX sandbox) is already in use — another ClinicPro Images stack or program has it: set SANDBOX_PORT to another port`);
    expect(explainListenError(new Error('something else'), ports)).toBeNull();
  });

  it('prints each address with what it is and its variable', () => {
    const lines = describePorts({ gateway: 'http://127.0.0.1:1', sandbox: 'http://127.0.0.1:2', launch: 'http://127.0.0.1:3', lan: null, host: 'http://127.0.0.1:5' });
    expect(lines.join('\n')).toMatch(/ALEX sandbox +http:\/\/127\.0\.0\.1:2 +SANDBOX_PORT/);
    expect(lines.join('\n')).toMatch(/phone uploads +\(off\) +CLINICPRO_LAN_HOST, CLINICPRO_LAN_PORT/);
    expect(lines).toHaveLength(6);
  });
});

import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

const ALEX = {
  ALEX_BASE_URL: 'https://alexapiuat.medtechglobal.com/FHIR/',
  ALEX_TOKEN_URL: 'https://login.microsoftonline.com/t/oauth2/v2.0/token',
  ALEX_CLIENT_ID: 'client',
  ALEX_CLIENT_SECRET: 'canary-secret-1',
  ALEX_SCOPE: 'api://x/.default',
};

const DATA_KEY = Buffer.alloc(32, 7).toString('base64');

const errorOf = (env: Record<string, string>): ConfigError => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('runs offline against the sandbox with no variables at all', () => {
    const c = loadConfig({});
    expect(c.alex).toBeNull();
    expect(c.port).toBe(4000);
    expect(c.dataDir).toBe('./.data/gateway');
    expect(c.redisUrl).toBeNull();
    expect(c.alexMaxAttachmentBytes).toBe(1_000_000);
  });

  it('reads ALEX settings, trims the base URL and keeps both secrets for rotation', () => {
    const c = loadConfig({ ...ALEX, ALEX_CLIENT_SECRET_NEXT: 'canary-secret-2', GATEWAY_PORT: '8080', REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(c.alex?.baseUrl).toBe('https://alexapiuat.medtechglobal.com/FHIR');
    expect(c.alex?.clientSecrets).toEqual(['canary-secret-1', 'canary-secret-2']);
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('refuses to fall back to the sandbox when ALEX_REQUIRED is set (production)', () => {
    const e = errorOf({ ALEX_REQUIRED: 'true' });
    expect(e.variable).toBe('ALEX_BASE_URL');
    expect(e.message).toContain('ALEX_REQUIRED');
    expect(loadConfig({ ...ALEX, ALEX_REQUIRED: 'true', GATEWAY_DATA_KEY: DATA_KEY }).alex?.clientId).toBe('client');
    expect(errorOf({ ALEX_REQUIRED: 'yes' }).variable).toBe('ALEX_REQUIRED');
  });

  it('names the variable that is wrong', () => {
    expect(errorOf({ GATEWAY_PORT: 'eighty' }).variable).toBe('GATEWAY_PORT');
    expect(errorOf({ GATEWAY_PORT: '70000' }).variable).toBe('GATEWAY_PORT');
    expect(errorOf({ LOG_LEVEL: 'loud' }).variable).toBe('LOG_LEVEL');
    expect(errorOf({ REDIS_URL: 'http://x' }).variable).toBe('REDIS_URL');
    expect(errorOf({ ...ALEX, ALEX_SCOPE: '' }).variable).toBe('ALEX_SCOPE');
    expect(errorOf({ ALEX_CLIENT_SECRET: 'x' }).variable).toBe('ALEX_BASE_URL');
    expect(errorOf({ ALEX_BASE_URL: 'not a url' }).variable).toBe('ALEX_BASE_URL');
  });

  it("reads ALEX's write limit per practice (default 2) and the socket pool size (default 256), within bounds", () => {
    expect(loadConfig({}).alexConnections).toEqual({ writesPerFacility: 2, maxSockets: 256 });
    expect(loadConfig({ ALEX_WRITES_PER_FACILITY: '4', ALEX_MAX_SOCKETS: '1024' }).alexConnections).toEqual({ writesPerFacility: 4, maxSockets: 1024 });
    for (const bad of ['0', '17', 'two']) expect(errorOf({ ALEX_WRITES_PER_FACILITY: bad }).variable).toBe('ALEX_WRITES_PER_FACILITY');
    for (const bad of ['4', '4097', '-1']) expect(errorOf({ ALEX_MAX_SOCKETS: bad }).variable).toBe('ALEX_MAX_SOCKETS');
  });

  it('never echoes a secret in its message', () => {
    const e = errorOf({ ...ALEX, ALEX_CLIENT_SECRET: 'x'.repeat(1001) });
    expect(e.variable).toBe('ALEX_CLIENT_SECRET');
    expect(e.message).not.toContain('xxxx');
  });

  it('reads the device proof mode (default if-bound) and the public URL devices sign their proofs for', () => {
    const d = loadConfig({});
    expect(d.deviceProof).toBe('if-bound');
    expect(d.publicUrl).toBeNull();
    const c = loadConfig({ GATEWAY_DEVICE_PROOF: 'required', GATEWAY_PUBLIC_URL: 'https://Gateway.Example.org:443/images/' });
    expect(c.deviceProof).toBe('required');
    expect(c.publicUrl).toBe('https://gateway.example.org/images');
    expect(loadConfig({ GATEWAY_PUBLIC_URL: 'http://127.0.0.1:4000/' }).publicUrl).toBe('http://127.0.0.1:4000');
  });

  it('refuses an unknown proof mode and a public URL that is not a plain http(s) base', () => {
    expect(errorOf({ GATEWAY_DEVICE_PROOF: 'optional' }).variable).toBe('GATEWAY_DEVICE_PROOF');
    expect(errorOf({ GATEWAY_DEVICE_PROOF: 'REQUIRED' }).variable).toBe('GATEWAY_DEVICE_PROOF');
    for (const bad of ['gateway.example.org', 'ftp://gateway.example.org', 'https://gateway.example.org/?x=1', 'https://gateway.example.org/#top', 'https://user:pw@gateway.example.org']) {
      expect(errorOf({ GATEWAY_PUBLIC_URL: bad }).variable).toBe('GATEWAY_PUBLIC_URL');
    }
  });

  it('gives an unconfirmed NHI-lookup grant 10 minutes by default, configurable, never longer than a launch grant', () => {
    expect(loadConfig({}).lookupGrantTtlSeconds).toBe(600);
    expect(loadConfig({ LOOKUP_GRANT_TTL_SECONDS: '300' }).lookupGrantTtlSeconds).toBe(300);
    for (const bad of ['0', '59', '3601', 'ten', '-5', '1.5']) expect(errorOf({ LOOKUP_GRANT_TTL_SECONDS: bad }).variable).toBe('LOOKUP_GRANT_TTL_SECONDS');
    const tooLong = errorOf({ LAUNCH_GRANT_TTL_SECONDS: '120', LOOKUP_GRANT_TTL_SECONDS: '600' });
    expect(tooLong.variable).toBe('LOOKUP_GRANT_TTL_SECONDS');
    expect(tooLong.message).toContain('LAUNCH_GRANT_TTL_SECONDS');
    expect(loadConfig({ LAUNCH_GRANT_TTL_SECONDS: '120', LOOKUP_GRANT_TTL_SECONDS: '120' }).lookupGrantTtlSeconds).toBe(120);
  });

  it('believes forwarded headers only from the listed load balancer addresses; refuses trusting every client', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(loadConfig({ GATEWAY_TRUSTED_PROXIES: ' 10.0.0.5, 10.0.1.0/24,fd00::/8 ,loopback' }).trustedProxies).toEqual(['10.0.0.5', '10.0.1.0/24', 'fd00::/8', 'loopback']);
    for (const bad of ['true', '*', '10.0.0.0/0', '::/0', '10.0.0.5/33', '10.0.0/8', 'lb.internal', '10.0.0.5/8/1', '1']) {
      const e = errorOf({ GATEWAY_TRUSTED_PROXIES: bad });
      expect(e.variable, bad).toBe('GATEWAY_TRUSTED_PROXIES');
      expect(e.message).toContain("load balancer's addresses");
    }
    const old = errorOf({ GATEWAY_TRUST_PROXY: 'true' });
    expect(old.variable).toBe('GATEWAY_TRUST_PROXY');
    expect(old.message).toContain('GATEWAY_TRUSTED_PROXIES');
    expect(loadConfig({ GATEWAY_TRUST_PROXY: 'false' }).trustedProxies).toEqual([]);
  });

  it('takes the key that seals stored patient data from GATEWAY_DATA_KEY: required in production, 32 bytes, never echoed', () => {
    expect(loadConfig({ GATEWAY_DATA_KEY: DATA_KEY }).dataKey.equals(Buffer.alloc(32, 7))).toBe(true);
    expect(loadConfig({}).dataKey).toHaveLength(32); // the sandbox's development key
    const missing = errorOf({ ...ALEX, ALEX_REQUIRED: 'true' });
    expect([missing.variable, missing.message]).toEqual(['GATEWAY_DATA_KEY', expect.stringContaining('openssl rand -base64 32') as string]);
    for (const bad of [Buffer.alloc(16, 1).toString('base64') + '=====', Buffer.alloc(31, 1).toString('base64'), `${'A'.repeat(43)}!`]) {
      const e = errorOf({ GATEWAY_DATA_KEY: bad });
      expect(e.variable).toBe('GATEWAY_DATA_KEY');
      expect(e.message).not.toContain(bad);
    }
  });
});

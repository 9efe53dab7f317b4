/**
 * The gateway's configuration: read once from the environment at start-up, validated, typed.
 * Every variable, its default and its meaning is listed in gateway/README.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { LIMITS } from '../../shared/limits';
import { DEFAULT_ALEX_MAX_SOCKETS, DEFAULT_ALEX_WRITES_PER_FACILITY } from './alex/limiter';
import { DEFAULT_MAX_PROCESSING_SECONDS, DEFAULT_UNCONFIRMED_AFTER_SECONDS } from './commit/outcome';
import { parseTrustedProxies } from './auth/trusted-proxies';
import { DEVELOPMENT_DATA_KEY } from './launch/patient-seal';

const Url = Type.String({ pattern: '^https?://[^\\s]+$' });
const Int = (min: number, max: number, byDefault: number) => Type.Integer({ minimum: min, maximum: max, default: byDefault });
const Text = (maxLength: number, byDefault?: string) => Type.String({ minLength: 1, maxLength, default: byDefault });

/** An unconfirmed NHI-lookup grant: 10 minutes to say "Yes, this patient". */
export const DEFAULT_LOOKUP_GRANT_TTL_SECONDS = 600;

/** The environment variables with their defaults (gateway/README.md says what each means). Empty strings count as unset. */
export const EnvSchema = Type.Object({
  ALEX_BASE_URL: Type.Optional(Url),
  ALEX_TOKEN_URL: Type.Optional(Url),
  ALEX_CLIENT_ID: Type.Optional(Text(200)),
  ALEX_CLIENT_SECRET: Type.Optional(Text(1000)),
  ALEX_CLIENT_SECRET_NEXT: Type.Optional(Text(1000)),
  ALEX_SCOPE: Type.Optional(Text(500)),
  ALEX_MAX_ATTACHMENT_BYTES: Int(1_000, 8_000_000, LIMITS.alexMaxAttachmentBytes),
  ALEX_WRITES_PER_FACILITY: Int(1, 16, DEFAULT_ALEX_WRITES_PER_FACILITY),
  ALEX_MAX_SOCKETS: Int(8, 4096, DEFAULT_ALEX_MAX_SOCKETS),
  ALEX_MAX_PROCESSING_SECONDS: Int(30, 86_400, DEFAULT_MAX_PROCESSING_SECONDS),
  ALEX_UNCONFIRMED_AFTER_SECONDS: Int(30, 7 * 86_400, DEFAULT_UNCONFIRMED_AFTER_SECONDS),
  GATEWAY_PORT: Int(0, 65535, 4000),
  GATEWAY_HOST: Text(255, '127.0.0.1'),
  GATEWAY_DATA_DIR: Text(1000, './.data/gateway'),
  GATEWAY_TRUSTED_PROXIES: Type.Optional(Text(2000)),
  GATEWAY_PUBLIC_URL: Type.Optional(Url),
  GATEWAY_DEVICE_PROOF: Type.Union([Type.Literal('if-bound'), Type.Literal('required')], { default: 'if-bound' }),
  ALEX_REQUIRED: Type.Boolean({ default: false }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^\\s]+$' })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  LAUNCH_GRANT_TTL_SECONDS: Int(60, 7 * 24 * 3600, LIMITS.launchGrantTtlSeconds),
  LOOKUP_GRANT_TTL_SECONDS: Int(60, 3600, DEFAULT_LOOKUP_GRANT_TTL_SECONDS),
  LAUNCH_MAX_AGE_SECONDS: Int(10, 3600, LIMITS.launchMaxAgeSeconds),
  LAUNCH_CLOCK_SKEW_SECONDS: Int(0, 600, 30),
  RATE_LIMIT_DEVICE_BURST: Int(1, 100_000, 120),
  RATE_LIMIT_DEVICE_PER_MINUTE: Int(1, 1_000_000, 600),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: Int(1, 100_000, 20),
  RATE_LIMIT_LOOKUPS_PER_HOUR: Int(1, 10_000, 30),
  IDEMPOTENCY_LEASE_SECONDS: Int(5, 3600, 120),
  IDEMPOTENCY_RETENTION_DAYS: Int(1, 365, 30),
  SHUTDOWN_GRACE_SECONDS: Int(1, 600, 20),
  GATEWAY_DATA_KEY: Type.Optional(Type.String({ minLength: 40, maxLength: 100 })),
});
type Env = Static<typeof EnvSchema>;

export type GatewayConfig = ReturnType<typeof loadConfig>;

/** A configuration problem, naming the variable. The server prints it and exits non-zero. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const DEFAULTS = Object.fromEntries(Object.entries(EnvSchema.properties).flatMap(([k, v]) => (v.default === undefined ? [] : [[k, v.default as unknown]])));
const NUMERIC = new Set(Object.entries(EnvSchema.properties).filter(([, s]) => s.type === 'integer').map(([k]) => k));
const BOOLEAN = new Set(Object.entries(EnvSchema.properties).filter(([, s]) => s.type === 'boolean').map(([k]) => k));
/** Values never echoed in a config error. */
const SECRET = new Set(['ALEX_CLIENT_SECRET', 'ALEX_CLIENT_SECRET_NEXT', 'REDIS_URL', 'GATEWAY_DATA_KEY']);

/** Read and validate the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>) {
  refuseTrustAll(env);
  const e = readEnv(env);
  const alex = alexConfigOf(e);
  if (e.ALEX_UNCONFIRMED_AFTER_SECONDS < e.ALEX_MAX_PROCESSING_SECONDS) {
    throw new ConfigError('ALEX_UNCONFIRMED_AFTER_SECONDS', `must not be shorter than ALEX_MAX_PROCESSING_SECONDS (${e.ALEX_MAX_PROCESSING_SECONDS}) (got "${e.ALEX_UNCONFIRMED_AFTER_SECONDS}")`);
  }
  if (e.LOOKUP_GRANT_TTL_SECONDS > e.LAUNCH_GRANT_TTL_SECONDS) {
    throw new ConfigError('LOOKUP_GRANT_TTL_SECONDS', `must not be longer than LAUNCH_GRANT_TTL_SECONDS (${e.LAUNCH_GRANT_TTL_SECONDS}) (got "${e.LOOKUP_GRANT_TTL_SECONDS}")`);
  }
  const publicUrl = publicUrlOf(e);
  return {
    alex,
    alexMaxAttachmentBytes: e.ALEX_MAX_ATTACHMENT_BYTES,
    alexConnections: { writesPerFacility: e.ALEX_WRITES_PER_FACILITY, maxSockets: e.ALEX_MAX_SOCKETS },
    alexOutcome: { maxProcessingSeconds: e.ALEX_MAX_PROCESSING_SECONDS, unconfirmedAfterSeconds: e.ALEX_UNCONFIRMED_AFTER_SECONDS },
    port: e.GATEWAY_PORT,
    host: e.GATEWAY_HOST,
    dataDir: e.GATEWAY_DATA_DIR,
    trustedProxies: readTrustedProxies(e.GATEWAY_TRUSTED_PROXIES),
    publicUrl,
    deviceProof: e.GATEWAY_DEVICE_PROOF,
    redisUrl: e.REDIS_URL ?? null,
    logLevel: e.LOG_LEVEL,
    launchGrantTtlSeconds: e.LAUNCH_GRANT_TTL_SECONDS,
    lookupGrantTtlSeconds: e.LOOKUP_GRANT_TTL_SECONDS,
    launchMaxAgeSeconds: e.LAUNCH_MAX_AGE_SECONDS,
    launchClockSkewSeconds: e.LAUNCH_CLOCK_SKEW_SECONDS,
    rateLimit: {
      deviceBurst: e.RATE_LIMIT_DEVICE_BURST,
      devicePerMinute: e.RATE_LIMIT_DEVICE_PER_MINUTE,
      authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
      lookupsPerHour: e.RATE_LIMIT_LOOKUPS_PER_HOUR,
    },
    idempotencyLeaseSeconds: e.IDEMPOTENCY_LEASE_SECONDS,
    idempotencyRetentionDays: e.IDEMPOTENCY_RETENTION_DAYS,
    shutdownGraceSeconds: e.SHUTDOWN_GRACE_SECONDS,
    dataKey: readDataKey(e.GATEWAY_DATA_KEY, e.ALEX_REQUIRED),
  };
}

/** GATEWAY_TRUST_PROXY=true would let any client choose its own address for the per-address limits: refused (false/0 accepted). */
function refuseTrustAll(env: Record<string, string | undefined>): void {
  const v = env.GATEWAY_TRUST_PROXY?.trim();
  if (v === undefined || v === '' || v === 'false' || v === '0') return;
  throw new ConfigError('GATEWAY_TRUST_PROXY', "is no longer read: it trusted X-Forwarded-For from any client. Set GATEWAY_TRUSTED_PROXIES to the load balancer's addresses instead");
}

function readTrustedProxies(value: string | undefined): string[] {
  try {
    return parseTrustedProxies(value);
  } catch (err) {
    throw new ConfigError('GATEWAY_TRUSTED_PROXIES', (err as Error).message);
  }
}

/** GATEWAY_DATA_KEY: 32 bytes of base64. Required in production (ALEX_REQUIRED); else the development key. */
function readDataKey(value: string | undefined, production: boolean): Buffer {
  if (value === undefined) {
    if (production) throw new ConfigError('GATEWAY_DATA_KEY', 'is required when ALEX_REQUIRED is true (it encrypts the patient data the gateway keeps): generate one with `openssl rand -base64 32`');
    return DEVELOPMENT_DATA_KEY;
  }
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) throw new ConfigError('GATEWAY_DATA_KEY', 'must be 32 random bytes in base64 (`openssl rand -base64 32`)');
  return key;
}

/** The variables with their defaults, each converted to its type and checked against EnvSchema. */
function readEnv(env: Record<string, string | undefined>): Env {
  const raw: Record<string, unknown> = { ...DEFAULTS };
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key]?.trim();
    if (value === undefined || value === '') continue;
    if (NUMERIC.has(key)) {
      if (!/^[0-9]+$/.test(value)) throw new ConfigError(key, `must be a whole number${SECRET.has(key) ? '' : ` (got "${value}")`}`);
      raw[key] = Number(value);
    } else if (BOOLEAN.has(key)) {
      if (!/^(true|false|1|0)$/.test(value)) throw new ConfigError(key, 'must be true or false');
      raw[key] = value === 'true' || value === '1';
    } else {
      raw[key] = value;
    }
  }
  const first = Value.Errors(EnvSchema, raw).First();
  if (first) {
    const variable = first.path.replace(/^\//, '') || 'environment';
    const shown = SECRET.has(variable) ? '' : ` (got "${String(first.value)}")`;
    throw new ConfigError(variable, `${first.message}${shown}`);
  }
  return raw as Env;
}

/** ALEX's URL and client credentials, all or none; none (the sandbox) is refused when ALEX_REQUIRED. */
function alexConfigOf(e: Env) {
  if (e.ALEX_BASE_URL !== undefined) {
    for (const required of ['ALEX_TOKEN_URL', 'ALEX_CLIENT_ID', 'ALEX_CLIENT_SECRET', 'ALEX_SCOPE'] as const) {
      if (e[required] === undefined) throw new ConfigError(required, 'is required when ALEX_BASE_URL is set');
    }
    return {
      baseUrl: e.ALEX_BASE_URL.replace(/\/+$/, ''),
      tokenUrl: e.ALEX_TOKEN_URL as string,
      clientId: e.ALEX_CLIENT_ID as string,
      // The current secret first, then the next one during a rotation.
      clientSecrets: [e.ALEX_CLIENT_SECRET as string, ...(e.ALEX_CLIENT_SECRET_NEXT === undefined ? [] : [e.ALEX_CLIENT_SECRET_NEXT])],
      scope: e.ALEX_SCOPE as string,
    };
  }
  if (e.ALEX_REQUIRED) throw new ConfigError('ALEX_BASE_URL', 'is required when ALEX_REQUIRED is true (this gateway must not run against the sandbox)');
  for (const unexpected of ['ALEX_TOKEN_URL', 'ALEX_CLIENT_ID', 'ALEX_CLIENT_SECRET', 'ALEX_CLIENT_SECRET_NEXT', 'ALEX_SCOPE'] as const) {
    if (e[unexpected] !== undefined) throw new ConfigError('ALEX_BASE_URL', `is required when ${unexpected} is set`);
  }
  return null;
}

/** GATEWAY_PUBLIC_URL without a trailing slash, or null; a query, fragment or user name is refused. */
function publicUrlOf(e: Env): string | null {
  if (e.GATEWAY_PUBLIC_URL === undefined) return null;
  const u = URL.canParse(e.GATEWAY_PUBLIC_URL) ? new URL(e.GATEWAY_PUBLIC_URL) : null;
  if (!u || u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '' || e.GATEWAY_PUBLIC_URL.includes('?') || e.GATEWAY_PUBLIC_URL.includes('#')) {
    throw new ConfigError('GATEWAY_PUBLIC_URL', `must be an http(s) URL without query, fragment or user name (got "${e.GATEWAY_PUBLIC_URL}")`);
  }
  return `${u.protocol}//${u.host}${u.pathname}`.replace(/\/+$/, '');
}

/**
 * Strict parser for launch URLs from Medtech Evolution. This runs before anything else looks at a URL
 * handed to the companion by the OS (custom protocol) or by a browser tab (loopback http).
 *
 * Accepted, exactly (lower-case, nothing before or after):
 *   clinicpro-images://launch?context=<v>&signature=<v>        (also `launch/?`)
 *   http://127.0.0.1:<port>/launch?context=<v>&signature=<v>
 * with the two parameters in either order, each exactly once, no others, no fragment, no userinfo,
 * no port on the custom scheme. Values are opaque tickets for the gateway: characters A–Z a–z 0–9 - . _ ~ + / =
 * either literally or %-encoded, decoded exactly once (a decoded `%` — double encoding — is refused).
 * `+` stays `+` (base64), it never means a space. `--` anywhere (raw or decoded) and a value starting with
 * `-` are refused as switch smuggling: Medtech's pair is expected as standard base64 (`+ / =`), which has no `-`.
 *
 * Never throws: every input gets a typed result. A refusal carries ERR_LAUNCH_MALFORMED and a reason,
 * never the raw values.
 */
import { AppError, type ErrorBody } from '../../shared/errors/app-error';
import { LIMITS } from '../../shared/limits';

export const LAUNCH_SCHEME = 'clinicpro-images';
export const LAUNCH_PARAMS = ['context', 'signature'] as const;

export type LaunchRejectReason =
  | 'not-a-string'
  | 'empty'
  | 'too-long'
  | 'bad-character'
  | 'bad-prefix'
  | 'bad-port'
  | 'fragment'
  | 'bad-query'
  | 'unknown-parameter'
  | 'duplicate-parameter'
  | 'missing-parameter'
  | 'empty-parameter'
  | 'parameter-too-long'
  | 'bad-encoding'
  | 'double-encoding'
  | 'bad-argv'
  | 'switch-like';

export interface LaunchTicket {
  /** Where the launch came from. */
  via: 'custom-scheme' | 'loopback';
  /** Decoded once; forwarded verbatim to the gateway. */
  context: string;
  signature: string;
  /** The loopback port, for `via: 'loopback'`. */
  port?: number;
}

export type LaunchParseResult = { ok: true; ticket: LaunchTicket } | { ok: false; reason: LaunchRejectReason; error: ErrorBody };

export interface LaunchParseOptions {
  /** When set, a loopback launch must use exactly this port. */
  loopbackPort?: number;
  maxUrlChars?: number;
  maxParamChars?: number;
}

const refuse = (reason: LaunchRejectReason): LaunchParseResult => ({
  ok: false,
  reason,
  error: new AppError('ERR_LAUNCH_MALFORMED', { detail: reason }).toBody(),
});

/** Characters allowed anywhere in the raw URL: printable ASCII without space, quotes, angle brackets, backslash, etc. */
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
/** Characters allowed in a raw parameter value (before decoding). */
const RAW_VALUE = /^[A-Za-z0-9\-._~+/=%]+$/;

const CUSTOM_PREFIXES = [`${LAUNCH_SCHEME}://launch?`, `${LAUNCH_SCHEME}://launch/?`];
const LOOPBACK = /^http:\/\/127\.0\.0\.1:([1-9][0-9]{0,4})\/launch\?/;

/** A raw value: opaque characters or well-formed %XX escapes, nothing else. */
const RAW_ESCAPED = /^(?:[A-Za-z0-9\-._~+/=]|%[0-9A-Fa-f]{2})+$/;
const DECODED = /^[A-Za-z0-9\-._~+/=]+$/;

/** Decode %XX exactly once. Only the opaque character set may result; `%` after decoding is double encoding. */
function decodeOnce(raw: string): { ok: true; value: string } | { ok: false; reason: LaunchRejectReason } {
  if (!raw.includes('%')) return { ok: true, value: raw };
  if (!RAW_ESCAPED.test(raw)) return { ok: false, reason: 'bad-encoding' };
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return { ok: false, reason: 'bad-encoding' }; // e.g. a lone UTF-8 lead byte
  }
  if (value.includes('%')) return { ok: false, reason: 'double-encoding' };
  if (!DECODED.test(value)) return { ok: false, reason: 'bad-encoding' };
  return { ok: true, value };
}

export function parseLaunchUrl(input: unknown, options: LaunchParseOptions = {}): LaunchParseResult {
  try {
    return parse(input, options);
  } catch {
    // Defensive: the grammar above never throws, but a parser that guards the front door must not either.
    return refuse('bad-query');
  }
}

function parse(input: unknown, options: LaunchParseOptions): LaunchParseResult {
  const maxUrl = options.maxUrlChars ?? LIMITS.launchUrlMaxChars;
  const maxParam = options.maxParamChars ?? LIMITS.launchParamMaxChars;
  if (typeof input !== 'string') return refuse('not-a-string');
  if (input.length === 0) return refuse('empty');
  if (input.length > maxUrl) return refuse('too-long');
  if (!URL_CHARS.test(input)) return refuse('bad-character');
  if (input.includes('#')) return refuse('fragment');
  // Command-line switch smuggling (`--gpu-launcher=`, `--host-rules`, any `--x`) has no place in a launch URL.
  if (input.includes('--')) return refuse('switch-like');

  let via: LaunchTicket['via'];
  let query: string;
  let port: number | undefined;
  const custom = CUSTOM_PREFIXES.find((p) => input.startsWith(p));
  if (custom !== undefined) {
    via = 'custom-scheme';
    query = input.slice(custom.length);
  } else {
    const m = LOOPBACK.exec(input);
    if (m === null) return refuse('bad-prefix');
    port = Number(m[1]);
    if (port < 1024 || port > 65535) return refuse('bad-port');
    if (options.loopbackPort !== undefined && port !== options.loopbackPort) return refuse('bad-port');
    via = 'loopback';
    query = input.slice(m[0].length);
  }

  if (query.length === 0) return refuse('missing-parameter');
  const values = new Map<string, string>();
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return refuse('bad-query');
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    if (name !== 'context' && name !== 'signature') return refuse('unknown-parameter');
    if (values.has(name)) return refuse('duplicate-parameter');
    if (raw.length === 0) return refuse('empty-parameter');
    if (!RAW_VALUE.test(raw)) return refuse('bad-character');
    const decoded = decodeOnce(raw);
    if (!decoded.ok) return refuse(decoded.reason);
    if (decoded.value.length > maxParam) return refuse('parameter-too-long');
    if (decoded.value.startsWith('-') || decoded.value.includes('--')) return refuse('switch-like');
    values.set(name, decoded.value);
  }
  const context = values.get('context');
  const signature = values.get('signature');
  if (context === undefined || signature === undefined) return refuse('missing-parameter');
  const ticket: LaunchTicket = { via, context, signature };
  if (port !== undefined) ticket.port = port;
  return { ok: true, ticket };
}

/** Build a canonical launch URL (used by the launch simulator and tests). Values are %-encoded once. */
export function buildLaunchUrl(context: string, signature: string, via: LaunchTicket['via'] = 'custom-scheme', port = 0): string {
  const q = `context=${encodeURIComponent(context)}&signature=${encodeURIComponent(signature)}`;
  return via === 'custom-scheme' ? `${LAUNCH_SCHEME}://launch?${q}` : `http://127.0.0.1:${port}/launch?${q}`;
}

export type ArgvLaunch = { found: false } | { found: true; result: LaunchParseResult };

const LOOKS_LIKE_LAUNCH = /^(clinicpro-images:|http:\/\/127\.0\.0\.1)/i;

/**
 * Pick the launch URL out of a process argv (first launch or `second-instance`). The protocol is
 * registered as `"<exe>" -- "%1"`, so the URL must be the ONE argument after the first `--`.
 * Anything else that looks like a launch (before `--`, several after it, switches smuggled in by a
 * quote in the URL) is refused, not ignored. No launch-looking argument at all → `{ found: false }`.
 */
export function launchUrlFromArgv(argv: readonly unknown[], options: LaunchParseOptions = {}): ArgvLaunch {
  if (!Array.isArray(argv)) return { found: false };
  const sep = argv.indexOf('--');
  const before = sep < 0 ? argv : argv.slice(0, sep);
  const after = sep < 0 ? [] : argv.slice(sep + 1);
  const smuggled = before.some((a) => typeof a === 'string' && LOOKS_LIKE_LAUNCH.test(a.replace(/^["']+/, '')));
  if (after.length === 0) return smuggled ? { found: true, result: refuse('bad-argv') } : { found: false };
  if (smuggled || after.length !== 1) return { found: true, result: refuse('bad-argv') };
  return { found: true, result: parseLaunchUrl(after[0], options) };
}

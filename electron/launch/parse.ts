/**
 * The strict launch-URL parser: runs before anything else reads a URL from the OS or a browser tab; the grammar is
 * in electron/README.md ("Launch URLs"). `+` stays `+` (base64). Never throws; a refusal carries a reason, never values.
 */
import { AppError, type ErrorBody } from '../../shared/errors/app-error';
import { LIMITS } from '../../shared/limits';

export const LAUNCH_SCHEME = 'clinicpro-images';

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
  via: 'custom-scheme' | 'loopback';
  /** Decoded once; forwarded verbatim to the gateway. */
  context: string;
  signature: string;
  /** For `via: 'loopback'`. */
  port?: number;
}

export type LaunchParseResult = { ok: true; ticket: LaunchTicket } | { ok: false; reason: LaunchRejectReason; error: ErrorBody };

const refuse = (reason: LaunchRejectReason): LaunchParseResult => ({
  ok: false,
  reason,
  error: new AppError('ERR_LAUNCH_MALFORMED', { detail: reason }).toBody(),
});

/** Printable ASCII without space, quotes, angle brackets, backslash. */
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
const RAW_VALUE = /^[A-Za-z0-9\-._~+/=%]+$/;

const CUSTOM_PREFIXES = [`${LAUNCH_SCHEME}://launch?`, `${LAUNCH_SCHEME}://launch/?`];
const LOOPBACK = /^http:\/\/127\.0\.0\.1:([1-9][0-9]{0,4})\/launch\?/;

const RAW_ESCAPED = /^(?:[A-Za-z0-9\-._~+/=]|%[0-9A-Fa-f]{2})+$/;
const DECODED = /^[A-Za-z0-9\-._~+/=]+$/;

/** Decode %XX exactly once; `%` after decoding is double encoding. */
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

/** With `loopbackPort`, a loopback launch must use exactly that port. */
export function parseLaunchUrl(input: unknown, options: { loopbackPort?: number } = {}): LaunchParseResult {
  try {
    return parse(input, options.loopbackPort);
  } catch {
    // Defensive: the grammar above never throws, but a parser that guards the front door must not either.
    return refuse('bad-query');
  }
}

function parse(input: unknown, loopbackPort: number | undefined): LaunchParseResult {
  if (typeof input !== 'string') return refuse('not-a-string');
  if (input.length === 0) return refuse('empty');
  if (input.length > LIMITS.launchUrlMaxChars) return refuse('too-long');
  if (!URL_CHARS.test(input)) return refuse('bad-character');
  if (input.includes('#')) return refuse('fragment');
  // Switch smuggling (`--gpu-launcher=`, `--host-rules`): Medtech's pair is standard base64, which has no `-`.
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
    if (loopbackPort !== undefined && port !== loopbackPort) return refuse('bad-port');
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
    if (decoded.value.length > LIMITS.launchParamMaxChars) return refuse('parameter-too-long');
    if (decoded.value.startsWith('-') || decoded.value.includes('--')) return refuse('switch-like');
    values.set(name, decoded.value);
  }
  const context = values.get('context');
  const signature = values.get('signature');
  if (context === undefined || signature === undefined) return refuse('missing-parameter');
  return { ok: true, ticket: { via, context, signature, ...(port === undefined ? {} : { port }) } };
}

export type ArgvLaunch = { found: false } | { found: true; result: LaunchParseResult };

const LOOKS_LIKE_LAUNCH = /^(clinicpro-images:|http:\/\/127\.0\.0\.1)/i;

/** The ONE argument after `--` (registered as `"<exe>" -- "%1"`); any other launch-looking argument is refused. */
export function launchUrlFromArgv(argv: readonly unknown[]): ArgvLaunch {
  if (!Array.isArray(argv)) return { found: false };
  const sep = argv.indexOf('--');
  const before = sep < 0 ? argv : argv.slice(0, sep);
  const after = sep < 0 ? [] : argv.slice(sep + 1);
  const smuggled = before.some((a) => typeof a === 'string' && LOOKS_LIKE_LAUNCH.test(a.replace(/^["']+/, '')));
  if (after.length === 0) return smuggled ? { found: true, result: refuse('bad-argv') } : { found: false };
  if (smuggled || after.length !== 1) return { found: true, result: refuse('bad-argv') };
  return { found: true, result: parseLaunchUrl(after[0]) };
}

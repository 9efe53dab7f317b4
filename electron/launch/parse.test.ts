import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { launchUrlFromArgv, parseLaunchUrl, type LaunchParseResult } from './parse';
import { buildLaunchUrl } from './testkit/launch-url';

// Opaque pairs in the shape Evolution is expected to send: standard base64 with + / =.
const CTX = 'eyJwIjoiMTIzIiwiZiI6IkYyTjA2MC1FIn0+/Ab==';
const SIG = 'q7Zr/9+Xy0Lm2Q==';
const GOOD = `clinicpro-images://launch?context=${CTX}&signature=${SIG}`;
const PORT = 47615;

function accepted(r: LaunchParseResult): boolean {
  return r.ok;
}

describe('parseLaunchUrl: good launches', () => {
  it('accepts the custom scheme with raw + / = values and hands them back verbatim', () => {
    const r = parseLaunchUrl(GOOD);
    expect(r).toEqual({ ok: true, ticket: { via: 'custom-scheme', context: CTX, signature: SIG } });
  });

  it('accepts %-encoded values and decodes them exactly once', () => {
    const r = parseLaunchUrl(`clinicpro-images://launch?signature=${encodeURIComponent(SIG)}&context=${encodeURIComponent(CTX)}`);
    expect(r.ok && r.ticket).toEqual({ via: 'custom-scheme', context: CTX, signature: SIG });
    const lower = parseLaunchUrl('clinicpro-images://launch?context=a%2bb%2f%3d&signature=x');
    expect(lower.ok && lower.ticket.context).toBe('a+b/=');
  });

  it('accepts the loopback form on the configured port and a trailing slash on the custom scheme', () => {
    const r = parseLaunchUrl(`http://127.0.0.1:${PORT}/launch?context=${CTX}&signature=${SIG}`, { loopbackPort: PORT });
    expect(r).toEqual({ ok: true, ticket: { via: 'loopback', port: PORT, context: CTX, signature: SIG } });
    expect(parseLaunchUrl(`clinicpro-images://launch/?context=a&signature=b`).ok).toBe(true);
  });

  it('takes the context at the size cap and refuses one character more', () => {
    const atCap = 'A'.repeat(4096);
    expect(parseLaunchUrl(`clinicpro-images://launch?context=${atCap}&signature=b`).ok).toBe(true);
    const over = parseLaunchUrl(`clinicpro-images://launch?context=${atCap}A&signature=b`);
    expect(over.ok || over.reason).toBe('parameter-too-long');
  });
});

// ≥ 60 curated hostile payloads: each must be refused with ERR_LAUNCH_MALFORMED.
const HOSTILE: [string, unknown][] = [
  ['argv quote + gpu-launcher', `clinicpro-images://launch?context=a" --gpu-launcher="cmd /c calc&signature=b`],
  ['gpu-launcher no quote', `clinicpro-images://launch?context=a&signature=b --gpu-launcher=calc`],
  ['gpu-launcher in value', `clinicpro-images://launch?context=--gpu-launcher=calc&signature=b`],
  ['host-rules in value', `clinicpro-images://launch?context=a&signature=--host-rules=MAP`],
  ['upper-case switch in value', `clinicpro-images://launch?context=--GPU-LAUNCHER=x&signature=b`],
  ['renderer-cmd-prefix', `clinicpro-images://launch?context=a--renderer-cmd-prefix=x&signature=b`],
  ['encoded dashes', `clinicpro-images://launch?context=%2D%2Dgpu-launcher%3Dx&signature=b`],
  ['leading single dash switch', `clinicpro-images://launch?context=-inspect&signature=b`],
  ['inspect-brk', `clinicpro-images://launch?context=a&signature=b&--inspect-brk=9229`],
  ['remote-debugging-port', `clinicpro-images://launch?context=a&signature=b --remote-debugging-port=9222`],
  ['CR', `clinicpro-images://launch?context=a\r&signature=b`],
  ['LF', `clinicpro-images://launch?context=a\n&signature=b`],
  ['CRLF header split', `clinicpro-images://launch?context=a%0d%0aX-Evil:1&signature=b`],
  ['NUL raw', `clinicpro-images://launch?context=a\u0000&signature=b`],
  ['NUL encoded', `clinicpro-images://launch?context=a%00&signature=b`],
  ['tab', `clinicpro-images://launch?context=a\t&signature=b`],
  ['space', `clinicpro-images://launch?context=a b&signature=c`],
  ['encoded space', `clinicpro-images://launch?context=a%20b&signature=c`],
  ['DEL', `clinicpro-images://launch?context=a\u007f&signature=b`],
  ['bell', `clinicpro-images://launch?context=a\u0007&signature=b`],
  ['leading space', ` clinicpro-images://launch?context=a&signature=b`],
  ['trailing newline', `clinicpro-images://launch?context=a&signature=b\n`],
  ['double encoded percent', `clinicpro-images://launch?context=a%252F&signature=b`],
  ['double encoded dash', `clinicpro-images://launch?context=%252D%252Dx&signature=b`],
  ['encoded percent alone', `clinicpro-images://launch?context=a%25&signature=b`],
  ['truncated escape', `clinicpro-images://launch?context=a%2&signature=b`],
  ['bad hex escape', `clinicpro-images://launch?context=a%zz&signature=b`],
  ['encoded non-ascii', `clinicpro-images://launch?context=a%C3%A9&signature=b`],
  ['encoded ampersand', `clinicpro-images://launch?context=a%26signature%3Dx&signature=b`],
  ['encoded quote', `clinicpro-images://launch?context=a%22&signature=b`],
  ['duplicate context', `clinicpro-images://launch?context=a&context=b&signature=c`],
  ['duplicate signature', `clinicpro-images://launch?context=a&signature=b&signature=c`],
  ['missing signature', `clinicpro-images://launch?context=a`],
  ['missing context', `clinicpro-images://launch?signature=a`],
  ['empty query', `clinicpro-images://launch?`],
  ['no query', `clinicpro-images://launch`],
  ['empty value', `clinicpro-images://launch?context=&signature=b`],
  ['unknown parameter', `clinicpro-images://launch?context=a&signature=b&nhi=ZZZ0016`],
  ['upper-case parameter name', `clinicpro-images://launch?Context=a&signature=b`],
  ['encoded parameter name', `clinicpro-images://launch?%63ontext=a&signature=b`],
  ['semicolon separator', `clinicpro-images://launch?context=a;signature=b`],
  ['trailing ampersand', `clinicpro-images://launch?context=a&signature=b&`],
  ['double ampersand', `clinicpro-images://launch?context=a&&signature=b`],
  ['bare name', `clinicpro-images://launch?context&signature=b`],
  ['fragment', `clinicpro-images://launch?context=a&signature=b#x`],
  ['fragment in value', `clinicpro-images://launch?context=a#&signature=b`],
  ['userinfo', `clinicpro-images://user@launch?context=a&signature=b`],
  ['userinfo loopback', `http://evil@127.0.0.1:${PORT}/launch?context=a&signature=b`],
  ['port on custom scheme', `clinicpro-images://launch:443?context=a&signature=b`],
  ['other host', `clinicpro-images://evil?context=a&signature=b`],
  ['host suffix', `clinicpro-images://launch.evil.com?context=a&signature=b`],
  ['homoglyph host (Cyrillic a)', `clinicpro-images://l\u0430unch?context=a&signature=b`],
  ['homoglyph scheme (Cyrillic i)', `cl\u0456nicpro-images://launch?context=a&signature=b`],
  ['fullwidth slash', `clinicpro-images:\uff0f\uff0flaunch?context=a&signature=b`],
  ['upper-case scheme', `CLINICPRO-IMAGES://launch?context=a&signature=b`],
  ['upper-case host', `clinicpro-images://LAUNCH?context=a&signature=b`],
  ['other path', `clinicpro-images://launch/../admin?context=a&signature=b`],
  ['single slash', `clinicpro-images:/launch?context=a&signature=b`],
  ['triple slash', `clinicpro-images:///launch?context=a&signature=b`],
  ['backslashes', `clinicpro-images:\\\\launch?context=a&signature=b`],
  ['other scheme', `javascript://launch?context=a&signature=b`],
  ['file scheme', `file:///C:/Windows/System32/calc.exe`],
  ['https loopback', `https://127.0.0.1:${PORT}/launch?context=a&signature=b`],
  ['localhost name', `http://localhost:${PORT}/launch?context=a&signature=b`],
  ['nip.io', `http://127.0.0.1.nip.io:${PORT}/launch?context=a&signature=b`],
  ['other loopback address', `http://127.0.0.2:${PORT}/launch?context=a&signature=b`],
  ['decimal ip', `http://2130706433:${PORT}/launch?context=a&signature=b`],
  ['ipv6 loopback', `http://[::1]:${PORT}/launch?context=a&signature=b`],
  ['wrong port', `http://127.0.0.1:${PORT + 1}/launch?context=a&signature=b`],
  ['no port', `http://127.0.0.1/launch?context=a&signature=b`],
  ['leading zero port', `http://127.0.0.1:0${PORT}/launch?context=a&signature=b`],
  ['port too big', `http://127.0.0.1:99999/launch?context=a&signature=b`],
  ['loopback other path', `http://127.0.0.1:${PORT}/launchx?context=a&signature=b`],
  ['loopback encoded path', `http://127.0.0.1:${PORT}/%6caunch?context=a&signature=b`],
  ['over 8 KiB', `clinicpro-images://launch?context=${'A'.repeat(8200)}&signature=b`],
  ['signature over cap', `clinicpro-images://launch?context=a&signature=${'A'.repeat(4097)}`],
  ['html in value', `clinicpro-images://launch?context=<script>&signature=b`],
  ['question mark in value', `clinicpro-images://launch?context=a?b&signature=c`],
  ['emoji', `clinicpro-images://launch?context=a\u{1F600}&signature=b`],
  ['zero-width space', `clinicpro-images://launch?context=a\u200b&signature=b`],
  ['RTL override', `clinicpro-images://launch?context=a\u202e&signature=b`],
  ['empty string', ''],
  ['number', 42],
  ['null', null],
  ['object', { toString: () => GOOD }],
  ['array', [GOOD]],
];

describe('parseLaunchUrl: hostile payloads', () => {
  it(`has at least 60 curated payloads (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(60);
  });

  it.each(HOSTILE)('refuses %s', (_name, payload) => {
    const r = parseLaunchUrl(payload, { loopbackPort: PORT });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('ERR_LAUNCH_MALFORMED');
      expect(r.error.action).toBe('relaunch');
      // the refusal never echoes the raw values
      expect(JSON.stringify(r.error)).not.toMatch(/gpu|calc|ZZZ0016|script/i);
    }
  });
});

// --- generated ------------------------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const opaque = fc
  .tuple(fc.string({ unit: fc.constantFrom(...B64.split('')), minLength: 1, maxLength: 300 }), fc.constantFrom('', '=', '=='))
  .map(([s, pad]) => s + pad);

/** Hostile mutations of a good URL. Each one breaks a rule the parser must enforce. */
const hostileUrl = fc.oneof(
  // insert a forbidden character somewhere
  fc.tuple(opaque, opaque, fc.nat(), fc.constantFrom('\r', '\n', '\u0000', ' ', '\t', '"', "'", '<', '>', '\\', '#', '\u0430', '\u200b', '\u00a0', '\uff0f', '`', '|', '{', '^')).map(
    ([c, s, at, bad]) => {
      const u = buildLaunchUrl(c, s);
      const i = at % (u.length + 1);
      return u.slice(0, i) + bad + u.slice(i);
    },
  ),
  // smuggle a switch
  fc.tuple(opaque, opaque, fc.constantFrom('--gpu-launcher=calc', '--host-rules=MAP * evil', '--INSPECT', '--no-sandbox', '--', '-x'), fc.boolean()).map(
    ([c, s, sw, inCtx]) => (inCtx ? buildLaunchUrl(sw + c, s) : `${buildLaunchUrl(c, s)} ${sw}`),
  ),
  // duplicate or unknown parameters
  fc.tuple(opaque, opaque, fc.constantFrom('context', 'signature', 'nhi', 'Context', 'patient', 'x')).map(
    ([c, s, name]) => `${buildLaunchUrl(c, s)}&${name}=${c}`,
  ),
  // double encoding
  fc.tuple(opaque, opaque).map(([c, s]) => `clinicpro-images://launch?context=${encodeURIComponent(encodeURIComponent(c + '/'))}&signature=${s}`),
  // wrong scheme, host, userinfo, port
  fc.tuple(opaque, opaque, fc.constantFrom('clinicpro-image://launch?', 'clinicpro-images://launch:1?', 'clinicpro-images://a@launch?', 'clinicpro-images://launchx?', 'http://127.0.0.1/launch?', 'http://127.0.0.1:80/launch?', `http://127.0.0.1:${PORT}@evil/launch?`, 'https://127.0.0.1:47615/launch?', 'CLINICPRO-IMAGES://launch?')).map(
    ([c, s, prefix]) => `${prefix}context=${c}&signature=${s}`,
  ),
  // oversize
  fc.tuple(fc.integer({ min: 4097, max: 9000 }), opaque).map(([n, s]) => buildLaunchUrl('A'.repeat(n), s)),
);

describe('parseLaunchUrl: 10,000 generated URLs', () => {
  it('accepts 0 hostile mutations (and never throws)', () => {
    fc.assert(
      fc.property(hostileUrl, (u) => {
        const r = parseLaunchUrl(u, { loopbackPort: PORT });
        return !accepted(r) && !r.ok && r.error.code === 'ERR_LAUNCH_MALFORMED';
      }),
      { numRuns: 6000 },
    );
  });

  it('never throws on arbitrary input, and whatever it accepts rebuilds to an equivalent canonical URL', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.anything()), (u) => {
        const r = parseLaunchUrl(u);
        if (r.ok) {
          const again = parseLaunchUrl(buildLaunchUrl(r.ticket.context, r.ticket.signature));
          return again.ok && again.ticket.context === r.ticket.context && again.ticket.signature === r.ticket.signature;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every good pair, raw or %-encoded, either order, and returns it unchanged', () => {
    fc.assert(
      fc.property(opaque, opaque, fc.boolean(), fc.boolean(), fc.boolean(), (c, s, encode, swap, loop) => {
        const enc = encode ? encodeURIComponent : (x: string) => x;
        const q = swap ? `signature=${enc(s)}&context=${enc(c)}` : `context=${enc(c)}&signature=${enc(s)}`;
        const url = loop ? `http://127.0.0.1:${PORT}/launch?${q}` : `clinicpro-images://launch?${q}`;
        const r = parseLaunchUrl(url, { loopbackPort: PORT });
        return r.ok && r.ticket.context === c && r.ticket.signature === s;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('launchUrlFromArgv', () => {
  const exe = 'C:\\Program Files\\ClinicPro Images\\ClinicPro Images.exe';

  it('takes the one argument after "--" (how Windows starts the registered protocol handler)', () => {
    const r = launchUrlFromArgv([exe, '--allow-file-access-from-files', '--', GOOD]);
    expect(r.found && r.result.ok && r.result.ticket.context).toBe(CTX);
  });

  it('reports no launch when there is none', () => {
    expect(launchUrlFromArgv([exe])).toEqual({ found: false });
    expect(launchUrlFromArgv([exe, '--'])).toEqual({ found: false });
    expect(launchUrlFromArgv('nope' as unknown as string[])).toEqual({ found: false });
  });

  it('refuses a URL placed before "--", extra arguments after it, and switches split out of a quoted URL', () => {
    const cases: string[][] = [
      [exe, GOOD],
      [exe, `"${GOOD}`],
      [exe, GOOD, '--', GOOD],
      [exe, '--', 'clinicpro-images://launch?context=a', '--gpu-launcher=calc', '&signature=b'],
      [exe, '--', GOOD, '--host-rules=MAP * evil'],
      [exe, '--', GOOD, GOOD],
      [exe, '--', `${GOOD}" --GPU-LAUNCHER="calc`],
    ];
    for (const argv of cases) {
      const r = launchUrlFromArgv(argv);
      expect(r.found, argv.join(' ')).toBe(true);
      if (r.found) expect(r.result.ok, argv.join(' ')).toBe(false);
    }
  });
});

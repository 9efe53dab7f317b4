/** The mobile page at /m/ and its assets, and the CSP of every LAN response. */
import { readFile, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Shown when the mobile page has not been built. Static: no script, no inline style. */
const BUILT_IN_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer"><title>ClinicPro Images</title></head>
<body>
<h1>ClinicPro Images</h1>
<p>The phone upload page is not installed on this PC. Please tell your practice IT contact.</p>
</body>
</html>
`;

const ASSET_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
  '.json': 'application/json',
};

/** One path segment, no leading dot. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

interface PageFile {
  body: Buffer | string;
  contentType: string;
}

export async function loadIndex(assetsDir: string | undefined): Promise<PageFile> {
  const body = assetsDir === undefined ? undefined : await readFile(join(assetsDir, 'index.html')).catch(() => undefined);
  return { body: body ?? BUILT_IN_PAGE, contentType: 'text/html; charset=utf-8' };
}

/** Undefined → 404. The real path must stay inside `<assetsDir>/assets/`. */
export async function loadAsset(assetsDir: string | undefined, name: string): Promise<PageFile | undefined> {
  if (assetsDir === undefined || !ASSET_NAME.test(name) || name.includes('..')) return undefined;
  const contentType = ASSET_TYPES[extname(name).toLowerCase()];
  if (contentType === undefined) return undefined;
  try {
    const root = await realpath(join(assetsDir, 'assets'));
    const file = await realpath(join(root, name));
    if (!file.startsWith(root + sep)) return undefined;
    return { body: await readFile(file), contentType };
  } catch {
    return undefined;
  }
}

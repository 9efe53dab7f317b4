import { readFile, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

/** Content Security Policy of the mobile page (and of every other response): same-origin only, no inline script. */
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

/** Shown when the mobile page has not been built (no mobileAssetsDir). Static: no script, no inline style. */
export const BUILT_IN_PAGE = `<!doctype html>
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

/** A safe asset file name: one path segment, no leading dot, a known extension. */
const ASSET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface PageFile {
  body: Buffer | string;
  contentType: string;
}

/** The page at /m/: the built index.html when present, else the built-in notice. */
export async function loadIndex(assetsDir: string | undefined): Promise<PageFile> {
  if (assetsDir !== undefined) {
    try {
      return { body: await readFile(join(assetsDir, 'index.html')), contentType: 'text/html; charset=utf-8' };
    } catch {
      // fall through to the notice
    }
  }
  return { body: BUILT_IN_PAGE, contentType: 'text/html; charset=utf-8' };
}

/** `/m/assets/<name>` from `<assetsDir>/assets/`, or undefined (→ 404). The real path must stay inside the folder. */
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

/**
 * Was this request made by a web page? Evolution's "Web Browser" mode opens the launch URL as a new
 * top-level page the user did not reach from another site: browsers send `Sec-Fetch-Site: none` (and
 * `Sec-Fetch-Mode: navigate`), no `Origin`, no `Referer`. A page that fires `fetch(…, {mode:'no-cors'})`,
 * an `<img>`, a form or a link at the listener is marked by the browser as `cross-site` / `same-site` /
 * `same-origin`, or carries its Origin or Referer. Any of those is refused before the core sees the URL.
 * (A browser too old for Fetch Metadata still gives itself away by its Origin or Referer where it sends them.)
 */
import type { IncomingHttpHeaders } from 'node:http';

const OWN_ORIGINS = (port: number): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** True when the browser says a page sent this (see above); false for a plain top-level open. */
export function sentByPage(headers: IncomingHttpHeaders, port: number): boolean {
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'none') return true;
  // Only a browser sends Sec-Fetch-Site; with it, anything but a navigation is a page's request. (Node's
  // fetch sends Sec-Fetch-Mode: cors alone: a local program, not a page.)
  const mode = one(headers['sec-fetch-mode']);
  if (site !== undefined && mode !== undefined && mode !== 'navigate') return true;
  const origin = one(headers.origin);
  if (origin !== undefined && !OWN_ORIGINS(port).includes(origin)) return true;
  const referer = one(headers.referer);
  if (referer !== undefined && !OWN_ORIGINS(port).some((o) => referer === o || referer.startsWith(`${o}/`))) return true;
  return false;
}

/** Was this request made by a web page? Evolution opens a fresh top-level page: `none`, `navigate`, no Origin/Referer. */
import type { IncomingHttpHeaders } from 'node:http';

const OWN_ORIGINS = (port: number): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

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

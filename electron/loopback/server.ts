/** The loopback launch listener for Evolution's "Web Browser" mode; its refusals are the rules in README.md. */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { LIMITS } from '../../shared/limits';

export interface LoopbackLaunchOptions {
  /** Fixed in production (the URL template in Evolution names it); 0 in tests. */
  port: number;
  /** Resolves when the launch has been handed over (not necessarily verified). */
  onLaunch: (url: string) => Promise<void> | void;
  logger: Logger;
}

export interface LoopbackLaunchServer {
  readonly port: number;
  /** For Evolution's ALEX Apps Configuration. */
  readonly launchTemplate: string;
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, title: string, body: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:15vh auto;max-width:32rem;color:#1d2733;text-align:center}h1{font-size:1.4rem}</style>
</head><body><h1>${title}</h1><p>${body}</p></body></html>`);
}

const NOT_ACCEPTED = 'Launch not accepted';

const OWN_ORIGINS = (port: number): string[] => [`http://127.0.0.1:${port}`, `http://localhost:${port}`];

function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** Was this request made by a web page? Evolution opens a fresh top-level page: `none`, `navigate`, no Origin/Referer. */
function sentByPage(headers: IncomingHttpHeaders, port: number): boolean {
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

/** The refusal for a request that is not a launch from Evolution, in the order the README gives; none for a launch. */
function refusal(req: IncomingMessage, port: number): [status: number, title: string, body: string] | undefined {
  const host = req.headers.host ?? '';
  const raw = req.url ?? '';
  if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return [421, 'Not allowed', 'This address is not allowed.'];
  if (sentByPage(req.headers, port)) return [403, NOT_ACCEPTED, 'This launch did not come from Medtech Evolution. Click the ClinicPro Images button in Evolution instead.'];
  if (req.method !== 'GET' || !(raw === '/launch' || raw.startsWith('/launch?'))) return [404, 'Not found', 'ClinicPro Images only answers launches from Medtech Evolution here.'];
  if (raw.length > LIMITS.launchUrlMaxChars) return [414, NOT_ACCEPTED, 'The launch link was too long. Please launch again from Medtech Evolution.'];
  return undefined;
}

export async function startLoopbackLaunchServer(options: LoopbackLaunchOptions): Promise<LoopbackLaunchServer> {
  let port = options.port;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const refused = refusal(req, port);
    if (refused) {
      send(res, ...refused);
      return;
    }
    const raw = req.url ?? '';
    Promise.resolve()
      .then(() => options.onLaunch(`http://127.0.0.1:${port}${raw}`))
      .then(() => send(res, 200, 'ClinicPro Images is open', 'The patient is now in ClinicPro Images. You can close this tab.'))
      .catch(() => {
        options.logger.warn('loopback launch could not be handed to the companion');
        send(res, 500, NOT_ACCEPTED, 'ClinicPro Images could not take this launch. Please launch again from Medtech Evolution.');
      });
  };
  const server = createServer(handle);
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.maxHeadersCount = 50;
  server.listen({ host: '127.0.0.1', port: options.port });
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  options.logger.info({ port }, 'loopback launch listener ready');
  return {
    port,
    launchTemplate: `http://127.0.0.1:${port}/launch?context={context}&signature={signature}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

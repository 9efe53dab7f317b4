/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of the LAN server: it forwards every request (rewriting
 * Host and Origin to the server's own), and for the FIRST attempt of each upload it lets the server receive and
 * answer, then cuts the phone's connection before the answer arrives — a dropped Wi-Fi at the worst moment.
 * (Playwright's request interception drops file bodies of multipart requests, so this runs as a real socket.)
 */
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LostAnswerProxy {
  port: number;
  /** clientUploadId → attempts that reached the server, with the answer each got. */
  attempts: Map<string, { status: number; duplicate?: boolean }[]>;
  close(): Promise<void>;
}

export async function startLostAnswerProxy(target: { host: string; port: number }): Promise<LostAnswerProxy> {
  const attempts = new Map<string, { status: number; duplicate?: boolean }[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: IncomingHttpHeaders = { ...req.headers, host: `${target.host}:${target.port}` };
      if (headers.origin !== undefined) headers.origin = `http://${target.host}:${target.port}`;
      const id = req.url === '/api/images/v1/upload' ? /name="clientUploadId"\r\n\r\n([0-9a-f-]{36})\r\n/.exec(body.toString('latin1'))?.[1] : undefined;
      const upstream = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers }, (up) => {
        const answer: Buffer[] = [];
        up.on('data', (c: Buffer) => answer.push(c));
        up.on('end', () => {
          const text = Buffer.concat(answer);
          if (id !== undefined) {
            const list = attempts.get(id) ?? [];
            let duplicate: boolean | undefined;
            try {
              duplicate = (JSON.parse(text.toString('utf8')) as { duplicate?: boolean }).duplicate;
            } catch {
              duplicate = undefined;
            }
            list.push({ status: up.statusCode ?? 0, ...(duplicate === undefined ? {} : { duplicate }) });
            attempts.set(id, list);
            if (list.length === 1) {
              req.socket.destroy(); // the server has the photo; the phone never hears back
              return;
            }
          }
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(text);
        });
      });
      upstream.on('error', () => req.socket.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * U7 and U10 over raw TCP sockets: crafted request heads are refused before any body byte is sent, and
 * slowloris connections are cut by the header timeout while a real upload still gets through.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeJpeg, joinPhone, startHarness, upload, type Harness } from './testing';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** Send only a request head (announcing a large body that never comes) and collect the status line. */
function headOnly(port: number, head: string): Promise<{ status: number; raw: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c: Buffer) => {
      raw += c.toString('latin1');
      if (raw.includes('\r\n\r\n')) {
        socket.destroy();
        resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0), raw });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1] ?? 0), raw }));
    socket.write(head);
  });
}

describe('request heads refused before the body (U7)', () => {
  it('30 crafted heads: every one refused while the body is still unsent', async () => {
    h = await startHarness();
    const { port } = h;
    const phone = await joinPhone(h);
    const good = `127.0.0.1:${port}`;
    const bearer = `Authorization: Bearer ${phone.credential}\r\n`;
    const body = `Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 10000000\r\n`;
    const post = (host: string | undefined, extra = bearer, version = '1.1'): string =>
      `POST /api/images/v1/upload HTTP/${version}\r\n${host === undefined ? '' : `Host: ${host}\r\n`}${extra}${body}\r\n`;
    const heads: [string, string, number[]][] = [
      ['foreign host', post('evil.example'), [421]],
      ['foreign host with our port', post(`evil.example:${port}`), [421]],
      ['nip.io rebinding host', post(`127.0.0.1.nip.io:${port}`), [421]],
      ['hex IP host', post(`0x7f000001:${port}`), [421]],
      ['decimal IP host', post(`2130706433:${port}`), [421]],
      ['IPv6 loopback host', post(`[::1]:${port}`), [421]],
      ['wrong port', post('127.0.0.1:80'), [421]],
      ['no port', post('127.0.0.1'), [421]],
      ['trailing dot', post(`localhost.:${port}`), [421]],
      ['userinfo host', post(`a@127.0.0.1:${port}`), [400, 421]],
      ['empty host', post(''), [400, 421]],
      ['no Host (HTTP/1.1)', post(undefined), [400]],
      ['no Host (HTTP/1.0)', post(undefined, bearer, '1.0'), [421]],
      ['two Host headers', `POST /api/images/v1/upload HTTP/1.1\r\nHost: ${good}\r\nHost: evil.example\r\n${bearer}${body}\r\n`, [421]],
      ['foreign Origin', post(good, `${bearer}Origin: http://evil.example\r\n`), [403]],
      ['https Origin', post(good, `${bearer}Origin: https://${good}\r\n`), [403]],
      ['lookalike Origin', post(good, `${bearer}Origin: http://${good}.evil.example\r\n`), [403]],
      ['null Origin', post(good, `${bearer}Origin: null\r\n`), [403]],
      ['cross-site fetch', post(good, `${bearer}Sec-Fetch-Site: cross-site\r\n`), [403]],
      ['cross-site fetch with good Origin', post(good, `${bearer}Origin: http://${good}\r\nSec-Fetch-Site: cross-site\r\n`), [403]],
      ['no token', post(good, ''), [401]],
      ['empty bearer', post(good, 'Authorization: Bearer \r\n'), [401]],
      ['basic auth', post(good, 'Authorization: Basic YTpi\r\n'), [401]],
      ['wrong token', post(good, `Authorization: Bearer ${'x'.repeat(43)}\r\n`), [401]],
      ['token with suffix', post(good, `Authorization: Bearer ${phone.credential}x\r\n`), [401]],
      ['lower-case scheme', post(good, `Authorization: bearer ${phone.credential}\r\n`), [401]],
      ['token in the query', `POST /api/images/v1/upload?token=${phone.credential} HTTP/1.1\r\nHost: ${good}\r\n${body}\r\n`, [401]],
      ['other path', `POST /api/images/v1/uploads HTTP/1.1\r\nHost: ${good}\r\n${bearer}${body}\r\n`, [404]],
      ['absolute-form foreign target', `POST http://evil.example/api/images/v1/upload HTTP/1.1\r\nHost: evil.example\r\n${bearer}${body}\r\n`, [400, 404, 421]],
      ['CRLF in header value', `POST /api/images/v1/upload HTTP/1.1\r\nHost: ${good}\r\nX-A: a\rb\r\n${bearer}${body}\r\n`, [400]],
    ];
    expect(heads).toHaveLength(30);
    for (const [label, head, statuses] of heads) {
      const res = await headOnly(port, head);
      expect(statuses, `${label}: ${res.raw.split('\r\n')[0]}`).toContain(res.status);
    }
    expect(h.sink.files).toHaveLength(0);
    // and the phone still works
    expect((await upload(port, phone.credential, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'a', data: fakeJpeg(1000) }])).status).toBe(200);
  });
});

describe('slow clients (U10)', () => {
  it('header and request timeouts are set on the real server', async () => {
    h = await startHarness();
    const server = h.server.app.server;
    expect(server.headersTimeout).toBe(10_000);
    expect(server.requestTimeout).toBe(300_000);
    expect(server.keepAliveTimeout).toBe(5_000);
  });

  it('200 slowloris sockets are cut by the header timeout while a real upload still completes', async () => {
    h = await startHarness({ limits: { headersTimeoutMs: 1_000, connectionsCheckingIntervalMs: 100 } });
    const { port } = h;
    const phone = await joinPhone(h);
    const sockets: Socket[] = [];
    const closed: Promise<string>[] = [];
    for (let i = 0; i < 200; i += 1) {
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      closed.push(
        new Promise((resolve) => {
          let raw = '';
          socket.on('data', (c: Buffer) => (raw += c.toString('latin1')));
          socket.on('error', () => resolve(raw));
          socket.on('close', () => resolve(raw));
        }),
      );
      socket.write(`POST /api/images/v1/upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow-${i}: `); // never finishes its head
    }
    const res = await upload(port, phone.credential, [{ name: 'clientUploadId', value: randomUUID() }, { name: 'file', filename: 'a', data: fakeJpeg(200_000) }]);
    expect(res.status).toBe(200);
    const answers = await Promise.all(closed); // the server closes every one of them
    for (const raw of answers) expect(raw === '' || raw.startsWith('HTTP/1.1 408')).toBe(true);
    expect(sockets.every((s) => s.destroyed || s.readableEnded)).toBe(true);
  });
});

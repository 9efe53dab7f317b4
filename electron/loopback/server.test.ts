import { request } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startLoopbackLaunchServer, type LoopbackLaunchServer } from './server';

function get(port: number, path: string, host = `127.0.0.1:${port}`, method = 'GET', extra: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host, ...extra } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('loopback launch listener', () => {
  let server: LoopbackLaunchServer | undefined;
  const launches: string[] = [];
  afterEach(async () => {
    await server?.close();
    launches.length = 0;
  });

  const start = async (onLaunch: (url: string) => void = (u) => void launches.push(u)) => {
    server = await startLoopbackLaunchServer({ port: 0, onLaunch, logger: pino({ level: 'silent' }) });
    return server;
  };

  it('hands the full launch URL to the companion and tells the user the tab can close', async () => {
    const s = await start();
    const res = await get(s.port, '/launch?context=abc%2B%2F%3D&signature=xyz');
    expect(res.status).toBe(200);
    expect(res.body).toContain('You can close this tab');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(launches).toEqual([`http://127.0.0.1:${s.port}/launch?context=abc%2B%2F%3D&signature=xyz`]);
    expect(s.launchTemplate).toBe(`http://127.0.0.1:${s.port}/launch?context={context}&signature={signature}`);
  });

  it('refuses a foreign Host (DNS rebinding), other paths and methods, and overlong URLs — without launching', async () => {
    const s = await start();
    expect((await get(s.port, '/launch?context=a&signature=b', 'evil.example:80')).status).toBe(421);
    expect((await get(s.port, '/launch?context=a&signature=b', `127.0.0.1.nip.io:${s.port}`)).status).toBe(421);
    expect((await get(s.port, '/')).status).toBe(404);
    expect((await get(s.port, '/launchx?context=a')).status).toBe(404);
    expect((await get(s.port, '/launch?context=a&signature=b', undefined, 'POST')).status).toBe(404);
    expect((await get(s.port, `/launch?context=${'a'.repeat(9000)}&signature=b`)).status).toBe(414);
    expect(launches).toEqual([]);
  });

  it('refuses to start when its fixed port is taken (the shell then shows its start-up error), and keeps the first listener', async () => {
    const s = await start();
    await expect(startLoopbackLaunchServer({ port: s.port, onLaunch: () => undefined, logger: pino({ level: 'silent' }) })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect((await get(s.port, '/launch?context=a&signature=b')).status).toBe(200);
  });

  it('says so in plain words when the companion cannot take the launch', async () => {
    const s = await start(() => {
      throw new Error('core down');
    });
    const res = await get(s.port, '/launch?context=a&signature=b');
    expect(res.status).toBe(500);
    expect(res.body).toContain('launch again from Medtech Evolution');
    expect(res.body).not.toContain('core down');
  });

  it('refuses every request a browser marks as sent by a web page, before the core sees it; a plain top-level open still launches', async () => {
    const s = await start();
    const own = `http://127.0.0.1:${s.port}`;
    const pageMade: Record<string, string>[] = [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' },
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'empty' },
      { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'no-cors' },
      { 'sec-fetch-site': 'CROSS-SITE' },
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: 'http://127.0.0.1:1' },
      { origin: 'http://localhost' },
      { origin: `${own}.evil.example` },
      { referer: 'http://evil.example/page' },
      { referer: `${own}.evil.example/` },
      { referer: 'http://127.0.0.1:8080/launch' },
      { 'sec-fetch-site': 'none', origin: 'http://evil.example' },
    ];
    for (const headers of pageMade) {
      const res = await get(s.port, '/launch?context=QUFB&signature=QkJC', undefined, 'GET', headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.body).toContain('did not come from Medtech Evolution');
    }
    expect(launches).toEqual([]);
    const opened = await get(s.port, '/launch?context=QUFB&signature=QkJC', undefined, 'GET', { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-user': '?1' });
    expect(opened.status).toBe(200);
    // A local program (Node's fetch sends Sec-Fetch-Mode alone) is not a page.
    expect((await get(s.port, '/launch?context=QUFB&signature=QkJC', undefined, 'GET', { 'sec-fetch-mode': 'cors' })).status).toBe(200);
    expect(launches).toHaveLength(2);
  });
});


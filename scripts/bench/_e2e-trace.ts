/** Every HTTP request a process of the end-to-end benchmarks sends and serves, on one clock shared by its processes. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** One HTTP step, at a wall-clock time (ms since the epoch, sub-millisecond: `wallNow`). */
export interface HttpStep {
  at: number;
  side: 'client-start' | 'client-done' | 'server-start' | 'server-done';
  method: string;
  path: string;
}

export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Records this process's HTTP steps from Node's diagnostics channels until `stop`. */
export function traceHttp(): { steps: HttpStep[]; stop(): void } {
  const steps: HttpStep[] = [];
  type Req = { method?: string; path?: string; url?: string };
  const note = (side: HttpStep['side']) => (m: unknown) => {
    const req = (m as { request: Req }).request;
    steps.push({ at: wallNow(), side, method: req.method ?? '?', path: (req.path ?? req.url ?? '').split('?')[0] ?? '' });
  };
  const subs: [string, (m: unknown) => void][] = [
    ['http.client.request.start', note('client-start')],
    ['http.client.response.finish', note('client-done')],
    ['http.server.request.start', note('server-start')],
    ['http.server.response.finish', note('server-done')],
  ];
  for (const [name, fn] of subs) subscribe(name, fn);
  return { steps, stop: () => subs.forEach(([name, fn]) => unsubscribe(name, fn)) };
}

/**
 * An oversize body is refused while the client is still sending; closing then would meet its next write
 * with a reset, and it would never read the 413. So the rest is read and thrown away first, up to a cap.
 */
import type { IncomingMessage } from 'node:http';

/** Largest refused body read through to give its sender a readable 413 (30 MB bodies are answered). */
export const DRAIN_CAP_BYTES = 64 * 1024 * 1024;

/** Resolves when the body has ended, passed `cap` bytes, or the request closed. */
export function drainRequest(raw: IncomingMessage, cap = DRAIN_CAP_BYTES): Promise<void> {
  if (raw.complete || raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const ends = ['end', 'close', 'error'] as const;
    const finish = (): void => {
      raw.off('data', onData);
      for (const event of ends) raw.off(event, finish);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > cap) finish();
    };
    raw.on('data', onData);
    for (const event of ends) raw.once(event, finish);
    raw.resume();
  });
}

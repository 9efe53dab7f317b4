/** A pino logger that writes every line into an array, for tests that read what was logged. */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

export function captureLogger(lines: string[], level = 'trace'): Logger {
  return pino(
    { level },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );
}

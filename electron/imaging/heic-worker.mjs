// HEIC/HEIF decoder worker. heic-decode (libheif compiled to wasm) is CPU-heavy and synchronous,
// so it runs here, off the main thread. Plain .mjs so it loads the same way under tsx, vitest and a packaged app.
// libheif applies the HEIF irot/imir transforms itself: the pixels that come back are already upright.
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const decode = require('heic-decode');

if (!parentPort) throw new Error('heic-worker must run as a worker thread');
const port = parentPort;

port.on('message', (msg) => {
  void handle(msg);
});

async function handle({ jobId, bytes, maxPixels }) {
  let images;
  try {
    try {
      images = await decode.all({ buffer: new Uint8Array(bytes) });
    } catch {
      port.postMessage({ jobId, error: 'corrupt' });
      return;
    }
    const first = images[0];
    if (!first || !(first.width > 0) || !(first.height > 0)) {
      port.postMessage({ jobId, error: 'corrupt' });
      return;
    }
    // Header dimensions first: refuse a pixel bomb before decoding a single pixel.
    if (first.width * first.height > maxPixels) {
      port.postMessage({ jobId, error: 'too-many-pixels', width: first.width, height: first.height });
      return;
    }
    let out;
    try {
      out = await first.decode();
    } catch {
      port.postMessage({ jobId, error: 'corrupt' });
      return;
    }
    const data = out.data;
    const buffer = data.buffer.byteLength === data.byteLength ? data.buffer : data.slice().buffer;
    port.postMessage({ jobId, width: out.width, height: out.height, data: buffer }, [buffer]);
  } finally {
    if (images && typeof images.dispose === 'function') {
      try {
        images.dispose();
      } catch {
        // already freed
      }
    }
  }
}

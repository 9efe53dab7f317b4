// HEIC/HEIF decoder worker. libheif (compiled to wasm, from libheif-js) is CPU-heavy and synchronous,
// so it runs here, off the main thread. Plain .mjs so it loads the same way under tsx, vitest and a packaged app.
// libheif applies the HEIF irot/imir transforms itself: the pixels that come back are already upright.
// libheif does not manage colour: the item's colour information (ICC profile or nclx) is returned with the
// pixels so the caller converts them to sRGB.
import { parentPort } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const libheif = require('libheif-js/wasm-bundle');

if (!parentPort) throw new Error('heic-worker must run as a worker thread');
const port = parentPort;

const FOURCC_NCLX = 0x6e636c78;
const COLORSPACE_RGB = 1;
const CHROMA_INTERLEAVED_RGBA = 11;
const CHANNEL_INTERLEAVED = 10;
const THUMBNAIL_MAX_PIXELS = 4_000_000;

port.on('message', (msg) => {
  void handle(msg);
});
port.postMessage({ loaded: true });

/** Calls a libheif function that returns `struct heif_error` (12 bytes, returned through a pointer); true when Ok. */
function ok(call) {
  const err = libheif._malloc(12);
  try {
    call(err);
    return libheif.HEAP32[err >> 2] === 0;
  } finally {
    libheif._free(err);
  }
}

/** The item's colour information: its ICC profile (`colr` prof/rICC), else its nclx numbers, else null. */
function colourOf(handlePtr) {
  const size = libheif._heif_image_handle_get_raw_color_profile_size(handlePtr);
  if (size > 0 && size < 4_000_000) {
    const buf = libheif._malloc(size);
    try {
      if (ok((e) => libheif._heif_image_handle_get_raw_color_profile(e, handlePtr, buf))) {
        return { icc: libheif.HEAPU8.slice(buf, buf + size).buffer };
      }
    } finally {
      libheif._free(buf);
    }
  }
  if (libheif._heif_image_handle_get_color_profile_type(handlePtr) !== FOURCC_NCLX) return null;
  const out = libheif._malloc(4);
  try {
    if (!ok((e) => libheif._heif_image_handle_get_nclx_color_profile(e, handlePtr, out))) return null;
    const p = libheif.HEAPU32[out >> 2];
    // struct heif_color_profile_nclx { uint8 version; int color_primaries; int transfer_characteristics; int matrix_coefficients; uint8 full_range_flag; … }
    const nclx = { primaries: libheif.HEAP32[(p + 4) >> 2], transfer: libheif.HEAP32[(p + 8) >> 2], matrix: libheif.HEAP32[(p + 12) >> 2] };
    libheif._heif_nclx_color_profile_free(p);
    return { nclx };
  } finally {
    libheif._free(out);
  }
}

/**
 * Decodes an image handle (raw pointer) to RGBA with its transforms applied; null on failure. The pixels are placed
 * `room.before` bytes into a buffer with `room.after` bytes free behind them, so the main thread can wrap them in a
 * TIFF in place (raw-tiff.ts).
 */
function decodeHandle(handlePtr, room) {
  const out = libheif._malloc(8);
  let img = 0;
  try {
    if (!ok((e) => libheif._heif_decode_image(e, handlePtr, out, COLORSPACE_RGB, CHROMA_INTERLEAVED_RGBA, 0))) return null;
    img = libheif.HEAPU32[out >> 2];
    const width = libheif._heif_image_get_width(img, CHANNEL_INTERLEAVED);
    const height = libheif._heif_image_get_height(img, CHANNEL_INTERLEAVED);
    const plane = libheif._heif_image_get_plane_readonly2(img, CHANNEL_INTERLEAVED, out + 4);
    const stride = libheif.HEAPU32[(out + 4) >> 2];
    if (!plane || !(width > 0) || !(height > 0) || stride < width * 4) return null;
    const data = new Uint8Array(new ArrayBuffer(room.before + width * height * 4 + room.after), room.before, width * height * 4);
    const heap = libheif.HEAPU8;
    for (let y = 0; y < height; y++) data.set(heap.subarray(plane + y * stride, plane + y * stride + width * 4), y * width * 4);
    return { width, height, data };
  } finally {
    if (img) libheif._heif_image_release(img);
    libheif._free(out);
  }
}

/**
 * The file's own thumbnail of the primary image (a `thmb` item), decoded with its own transforms, when it is
 * small and shows the same picture the same way up (same aspect after transforms); otherwise null.
 */
function embeddedThumbnail(primaryPtr, primaryColour, maxPixels, room) {
  const n = libheif._heif_image_handle_get_number_of_thumbnails(primaryPtr);
  if (!(n > 0)) return null;
  const ids = libheif._malloc(4 * n);
  const out = libheif._malloc(4);
  let thumb = 0;
  try {
    if (libheif._heif_image_handle_get_list_of_thumbnail_IDs(primaryPtr, ids, n) < 1) return null;
    if (!ok((e) => libheif._heif_image_handle_get_thumbnail(e, primaryPtr, libheif.HEAPU32[ids >> 2], out))) return null;
    thumb = libheif.HEAPU32[out >> 2];
    const w = libheif._heif_image_handle_get_width(thumb);
    const h = libheif._heif_image_handle_get_height(thumb);
    const pw = libheif._heif_image_handle_get_width(primaryPtr);
    const ph = libheif._heif_image_handle_get_height(primaryPtr);
    if (!(w > 0 && h > 0) || w * h > maxPixels) return null;
    if (Math.abs(w / h - pw / ph) > 0.03 * (pw / ph)) return null; // not the same picture the same way up
    const decoded = decodeHandle(thumb, room);
    if (!decoded) return null;
    return { ...decoded, colour: colourOf(thumb) ?? primaryColour };
  } finally {
    if (thumb) libheif._heif_image_handle_release(thumb);
    libheif._free(ids);
    libheif._free(out);
  }
}

function post(jobId, image) {
  const { buffer, byteOffset } = image.data;
  // Only the pixels' buffer is transferred: the colour information may be shared by the thumbnail and the primary image.
  port.postMessage({ jobId, width: image.width, height: image.height, data: buffer, offset: byteOffset, colour: image.colour }, [buffer]);
}

/** `part` 'thumbnail': the embedded thumbnail or nothing; 'image': the primary image. */
async function handle({ jobId, bytes, maxPixels, part, room }) {
  const decoder = new libheif.HeifDecoder();
  let images = [];
  try {
    try {
      images = decoder.decode(new Uint8Array(bytes));
    } catch {
      images = [];
    }
    const first = images[0];
    const width = first?.get_width();
    const height = first?.get_height();
    if (!first || !(width > 0) || !(height > 0)) {
      port.postMessage({ jobId, error: 'corrupt' });
      return;
    }
    // Header dimensions first: refuse a pixel bomb before decoding a single pixel.
    if (width * height > maxPixels) {
      port.postMessage({ jobId, error: 'too-many-pixels', width, height });
      return;
    }
    const ptr = first.handle.$$.ptr;
    const colour = colourOf(ptr);
    if (part === 'thumbnail') {
      const thumb = embeddedThumbnail(ptr, colour, THUMBNAIL_MAX_PIXELS, room);
      if (thumb) post(jobId, thumb);
      else port.postMessage({ jobId });
      return;
    }
    const full = decodeHandle(ptr, room);
    if (!full) {
      port.postMessage({ jobId, error: 'corrupt' });
      return;
    }
    post(jobId, { ...full, colour });
  } finally {
    for (const image of images) {
      try {
        image.free();
      } catch {
        // already freed
      }
    }
    try {
      decoder.decoder?.delete();
    } catch {
      // already freed
    }
  }
}

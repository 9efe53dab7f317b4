/**
 * Test support (never shipped): writes HEIF item properties into an existing HEIC (ISO/IEC 23008-12, ISO BMFF
 * boxes), because Debian's heif-enc 1.15 writes neither `irot`/`imir` nor an nclx `colr` box. The new
 * property boxes are appended to `ipco`, associated with the item in `ipma` in the order given (transformative
 * properties apply in that order), and every file offset in `iloc` after `meta` is moved by the growth of `meta`.
 */

interface Box {
  type: string;
  start: number;
  size: number;
  header: number;
}

function children(buf: Buffer, start: number, end: number): Box[] {
  const out: Box[] = [];
  for (let at = start; at + 8 <= end; ) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) throw new Error('malformed box');
    out.push({ type: buf.toString('latin1', at + 4, at + 8), start: at, size, header });
    at += size;
  }
  return out;
}

function find(boxes: Box[], type: string): Box {
  const b = boxes.find((x) => x.type === type);
  if (!b) throw new Error(`no ${type} box`);
  return b;
}

function box(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** `irot`: rotation by angle × 90° anticlockwise. */
export const irotBox = (angle: 0 | 1 | 2 | 3): Buffer => box('irot', Buffer.from([angle]));
/** `imir`: axis 0 = mirror top↔bottom (about a horizontal axis), axis 1 = mirror left↔right (ISO/IEC 23008-12:2022, libheif). */
export const imirBox = (axis: 0 | 1): Buffer => box('imir', Buffer.from([axis]));
/** `colr` of type nclx (H.273 code points). */
export function nclxBox(primaries: number, transfer: number, matrix: number, fullRange = true): Buffer {
  const body = Buffer.alloc(11);
  body.write('nclx', 0, 'latin1');
  body.writeUInt16BE(primaries, 4);
  body.writeUInt16BE(transfer, 6);
  body.writeUInt16BE(matrix, 8);
  body[10] = fullRange ? 0x80 : 0;
  return box('colr', body);
}

/** The item IDs of a HEIF: the primary (`pitm`) and every `thmb` thumbnail of it (`iref`). */
export function heifItems(heic: Buffer): { primary: number; thumbnails: number[] } {
  const meta = find(children(heic, 0, heic.length), 'meta');
  const inner = children(heic, meta.start + meta.header + 4, meta.start + meta.size);
  const pitm = find(inner, 'pitm');
  const primary = heic[pitm.start + pitm.header] === 0 ? heic.readUInt16BE(pitm.start + pitm.header + 4) : heic.readUInt32BE(pitm.start + pitm.header + 4);
  const thumbnails: number[] = [];
  const iref = inner.find((b) => b.type === 'iref');
  if (iref) {
    const v = heic[iref.start + iref.header] ?? 0;
    const idSize = v === 0 ? 2 : 4;
    const read = (at: number): number => (idSize === 2 ? heic.readUInt16BE(at) : heic.readUInt32BE(at));
    for (const ref of children(heic, iref.start + iref.header + 4, iref.start + iref.size)) {
      if (ref.type !== 'thmb') continue;
      thumbnails.push(read(ref.start + 8));
    }
  }
  return { primary, thumbnails };
}

/** Associates `props` (in order, essential) with `itemId`; returns a new, valid file. */
export function addItemProperties(heic: Buffer, itemId: number, props: Buffer[]): Buffer {
  const top = children(heic, 0, heic.length);
  const meta = find(top, 'meta');
  const metaBodyAt = meta.start + meta.header + 4;
  const inner = children(heic, metaBodyAt, meta.start + meta.size);
  const iprp = find(inner, 'iprp');
  const iprpKids = children(heic, iprp.start + iprp.header, iprp.start + iprp.size);
  const ipco = find(iprpKids, 'ipco');
  const ipma = find(iprpKids, 'ipma');
  const existing = children(heic, ipco.start + ipco.header, ipco.start + ipco.size).length;
  const newIpco = box('ipco', Buffer.concat([heic.subarray(ipco.start + ipco.header, ipco.start + ipco.size), ...props]));

  // ipma: entry_count, then per item: item_ID, association_count, associations (1 byte, or 2 with flags & 1).
  const version = heic[ipma.start + ipma.header] ?? 0;
  const flags = heic.readUIntBE(ipma.start + ipma.header + 1, 3);
  const wide = (flags & 1) === 1;
  let at = ipma.start + ipma.header + 4;
  const count = heic.readUInt32BE(at);
  at += 4;
  const entries: Buffer[] = [];
  let found = false;
  for (let e = 0; e < count; e++) {
    const idBytes = version < 1 ? 2 : 4;
    const id = idBytes === 2 ? heic.readUInt16BE(at) : heic.readUInt32BE(at);
    const n = heic[at + idBytes] ?? 0;
    const assocBytes = n * (wide ? 2 : 1);
    let entry = heic.subarray(at, at + idBytes + 1 + assocBytes);
    if (id === itemId) {
      found = true;
      const added = props.map((_, i) => {
        const index = existing + 1 + i;
        const b = Buffer.alloc(wide ? 2 : 1);
        if (wide) b.writeUInt16BE(0x8000 | index);
        else b[0] = 0x80 | index;
        return b;
      });
      entry = Buffer.concat([entry, ...added]);
      entry[idBytes] = n + props.length;
    }
    entries.push(entry);
    at += idBytes + 1 + assocBytes;
  }
  if (!found) throw new Error(`item ${itemId} has no ipma entry`);
  const ipmaHead = Buffer.alloc(8);
  heic.copy(ipmaHead, 0, ipma.start + ipma.header, ipma.start + ipma.header + 4);
  ipmaHead.writeUInt32BE(count, 4);
  const newIpma = box('ipma', Buffer.concat([ipmaHead, ...entries]));
  const newIprp = box(
    'iprp',
    Buffer.concat(iprpKids.map((k) => (k === ipco ? newIpco : k === ipma ? newIpma : heic.subarray(k.start, k.start + k.size)))),
  );
  const metaFull = heic.subarray(meta.start + meta.header, metaBodyAt);
  const newMeta = box('meta', Buffer.concat([metaFull, ...inner.map((k) => (k === iprp ? newIprp : heic.subarray(k.start, k.start + k.size)))]));
  const delta = newMeta.length - meta.size;
  const out = Buffer.concat([heic.subarray(0, meta.start), newMeta, heic.subarray(meta.start + meta.size)]);
  shiftIloc(out, meta.start + meta.size, delta);
  return out;
}

/** Moves every file offset in `iloc` that points past the old `meta` by `delta` (construction method 0). */
function shiftIloc(buf: Buffer, oldMetaEnd: number, delta: number): void {
  const meta = find(children(buf, 0, buf.length), 'meta');
  const iloc = find(children(buf, meta.start + meta.header + 4, meta.start + meta.size), 'iloc');
  let at = iloc.start + iloc.header;
  const version = buf[at] ?? 0;
  at += 4;
  const offsetSize = (buf[at] ?? 0) >> 4;
  const lengthSize = (buf[at] ?? 0) & 15;
  const baseOffsetSize = (buf[at + 1] ?? 0) >> 4;
  const indexSize = version >= 1 ? (buf[at + 1] ?? 0) & 15 : 0;
  at += 2;
  const itemCount = version < 2 ? buf.readUInt16BE(at) : buf.readUInt32BE(at);
  at += version < 2 ? 2 : 4;
  const readN = (p: number, n: number): number => (n === 0 ? 0 : n === 4 ? buf.readUInt32BE(p) : Number(buf.readBigUInt64BE(p)));
  const writeN = (p: number, n: number, v: number): void => {
    if (n === 4) buf.writeUInt32BE(v, p);
    else if (n === 8) buf.writeBigUInt64BE(BigInt(v), p);
  };
  for (let i = 0; i < itemCount; i++) {
    at += version < 2 ? 2 : 4; // item_ID
    let method = 0;
    if (version >= 1) {
      method = buf.readUInt16BE(at) & 15;
      at += 2;
    }
    at += 2; // data_reference_index
    const base = readN(at, baseOffsetSize);
    const basePos = at;
    at += baseOffsetSize;
    const extents = buf.readUInt16BE(at);
    at += 2;
    let shiftedBase = false;
    if (method === 0 && baseOffsetSize > 0 && base >= oldMetaEnd) {
      writeN(basePos, baseOffsetSize, base + delta);
      shiftedBase = true;
    }
    for (let e = 0; e < extents; e++) {
      at += indexSize;
      const off = readN(at, offsetSize);
      if (method === 0 && !shiftedBase && offsetSize > 0 && base + off >= oldMetaEnd) writeN(at, offsetSize, off + delta);
      at += offsetSize + lengthSize;
    }
  }
}

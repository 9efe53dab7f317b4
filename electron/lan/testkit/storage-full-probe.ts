/**
 * Test probe (run by storage-full.test.ts inside a private mount namespace): the sink stores photos on a 256 KiB
 * tmpfs, so storing a 1 MB photo fails with a real ENOSPC. Prints one JSON line and exits.
 */
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, fakeJpeg, joinPhone, RecordingSink, startHarness, upload } from '../testing';

const mountPoint = process.argv[2];
if (mountPoint === undefined) throw new Error('usage: storage-full-probe.ts <tmpfs mount point>');
const store = join(mountPoint, 'store');
await mkdir(store);
const sink = new RecordingSink(store);
const h = await startHarness({ sink });
const phone = await joinPhone(h);
const photo = (size: number) => [
  { name: 'clientUploadId', value: randomUUID() },
  { name: 'file', filename: 'a.jpg', data: fakeJpeg(size) },
];
const full = await upload(h.port, phone.credential, photo(1_000_000));
const small = await upload(h.port, phone.credential, photo(10_000));
const result = {
  full: { status: full.status, code: errorCode(full), body: full.text },
  small: { status: small.status },
  sinkFiles: sink.files.length,
};
await h.cleanup();
process.stdout.write(`${JSON.stringify(result)}\n`);

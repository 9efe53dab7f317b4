/**
 * At start: the images that were on screen when the companion stopped come back from their sealed drafts, bound to
 * their patient and grant, in the order they were added, with their status from the outbox. An image the outbox
 * already committed only has its files removed. A draft that cannot be read is reported (count only) to the GP.
 */
import type { Logger } from 'pino';
import type { OutboxItemView } from '../outbox/types';
import type { ImageFiles } from './image-files';
import type { ImageLibrary } from './image-library';
import type { ImageRecord } from './image-record';
import type { NoticeBoard } from './notices';
import type { OutboxPort } from './ports';

export interface ImageRecoveryDeps {
  files: ImageFiles;
  library: ImageLibrary;
  outbox: OutboxPort;
  /** Brings a restored image's status up to date with its outbox item. */
  applyOutbox: (item: OutboxItemView) => void;
  notices: NoticeBoard;
  log: Logger;
}

export async function restoreImages(deps: ImageRecoveryDeps): Promise<void> {
  const { files, library, outbox, log } = deps;
  const { drafts: found, unreadable } = await files.recover();
  for (const d of found.sort((a, b) => a.seq - b.seq)) {
    library.reserveSeq(d.seq);
    const item = outbox.get(d.id);
    if (item?.state === 'committed') {
      await files.remove(d.id);
      continue;
    }
    const rec: ImageRecord = { ...d, status: 'needs-info', inOutbox: item !== undefined };
    library.restore(rec);
    if (item !== undefined) deps.applyOutbox(item);
    else library.refresh(rec);
  }
  if (unreadable.length > 0) {
    log.error({ count: unreadable.length }, 'some saved images could not be read');
    deps.notices.notify('info', 'error', `${unreadable.length} saved image${unreadable.length === 1 ? '' : 's'} could not be read back on this PC. Call support.`);
  }
  if (found.length > 0) log.info({ restored: library.size }, 'images restored');
}

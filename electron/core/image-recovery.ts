/**
 * At start: the images on screen when the companion stopped come back from their sealed drafts, in order, with their
 * status from the outbox. One already committed only has its files removed; unreadable drafts are counted to the GP.
 */
import type { OutboxItemView } from '../outbox/types';
import type { ImageRecord } from './image-record';
import type { CoreParts } from './ports';

export type ImageRecoveryDeps = Pick<CoreParts, 'files' | 'library' | 'outbox' | 'notices' | 'log'> & {
  /** Brings a restored image's status up to date with its outbox item. */
  applyOutbox: (item: OutboxItemView) => void;
};

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

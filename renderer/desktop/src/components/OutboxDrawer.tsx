import type { OutboxItemView } from '../../../../shared/contracts/bridge';
import { formatClock, formatPatientName, formatRelative } from '../../../common/format';
import { IMAGE_STATUS_TEXT, OUTBOX_STATUS_TEXT } from '../../../common/status';
import { splitOutbox } from '../logic/model';
import type { Companion } from '../useCompanion';
import { Dialog } from './Dialog';
import { Badge, RetryButton } from './ImageGrid';

function targetsText(t: OutboxItemView['targets']): string {
  return [t.media ? 'Photo' : '', t.inboxScan ? 'Inbox Scan' : ''].filter(Boolean).join(' + ');
}

/** Everything on its way to Medtech, for every patient, and what was sent. */
export function OutboxDrawer({ companion, now, onClose }: { companion: Companion; now: Date; onClose: () => void }) {
  const { live, history } = splitOutbox(companion.state?.outbox ?? []);
  // The photos' names ("Photo 2", a file name), the same as on their cards.
  const labels = new Map(companion.state?.images.map((i) => [i.id, i.label]));
  return (
    <Dialog title="Outbox" onClose={onClose} drawer>
      <p className="muted small">Everything on its way to Medtech, for every patient. Items wait safely on this PC and send by themselves.</p>
      <h3>On the way ({live.length})</h3>
      {live.length === 0 ? <p className="muted">Nothing waiting.</p> : null}
      <ul className="outbox-list" data-testid="outbox-live">
        {live.map((o) => (
          <li key={o.imageId} className="outbox-item" data-status={o.status}>
            <div className="image-row">
              <Badge text={OUTBOX_STATUS_TEXT[o.status]} />
              {labels.has(o.imageId) ? <strong className="outbox-label">{labels.get(o.imageId)}</strong> : null}
              <span className="outbox-patient">{o.patient ? formatPatientName(o.patient) : (o.nhi ?? 'Patient')}</span>
              <span className="muted small">{targetsText(o.targets)}</span>
            </div>
            {o.error ? <div className={o.status === 'failed' ? 'image-error' : 'image-wait'}>{o.error.message}</div> : null}
            <div className="muted small">
              {o.attempts > 0 ? `${o.attempts} ${o.attempts === 1 ? 'try' : 'tries'} so far` : 'Not tried yet'}
              {o.nextAttemptAt && o.status === 'waiting' ? ` · next try ${formatRelative(new Date(o.nextAttemptAt), now)} (${formatClock(new Date(o.nextAttemptAt))})` : ''}
              {o.error?.correlationId ? ` · reference ${o.error.correlationId.slice(0, 8)}` : ''}
            </div>
            {o.status === 'failed' ? <RetryButton companion={companion} imageId={o.imageId} /> : null}
          </li>
        ))}
      </ul>
      <h3>Sent ({history.length})</h3>
      {history.length === 0 ? <p className="muted">Nothing sent yet.</p> : null}
      <ul className="outbox-list outbox-history" data-testid="outbox-history">
        {history.map((o) => (
          <li key={o.imageId} className="outbox-item">
            <div className="image-row">
              <Badge text={IMAGE_STATUS_TEXT.committed} />
              <span className="mono small">{o.nhi ?? ''}</span>
              <span className="muted small">
                {targetsText(o.targets)} · {formatClock(new Date(o.updatedAt))}
                {o.committed?.verified ? ' · checked in Medtech ✓' : ''}
                {o.committed?.confirmedBy === 'person' ? ' · checked in Medtech by a person ✓' : ''}
              </span>
            </div>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}

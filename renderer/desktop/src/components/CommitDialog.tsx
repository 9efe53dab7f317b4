import { useRef, useState } from 'react';
import type { CommitStartResponse, CommitTargets } from '../../../../shared/contracts/bridge';
import type { PatientSummary } from '../../../../shared/contracts/common';
import { formatPatientName, plural } from '../../../common/format';
import { imageProgress, tallyCommit, type CommitTally } from '../logic/model';
import { comingWithSendLine, stillComingLine } from '../logic/send-status';
import type { Companion } from '../useCompanion';
import { Dialog } from './Dialog';
import { ProgressBar, RetryButton, StatusBadge } from './ImageGrid';
import { TargetsField } from './SettingsDialog';

export interface CommitTarget {
  /** The patient these images go to (each image's OWN patient). */
  patient: PatientSummary;
  ids: string[];
  /** True for the working patient's "commit all ready" (sent without ids, so the core picks exactly its ready images). */
  allReady: boolean;
  /** Images of this patient that are not ready (shown as a hint). */
  notReady: number;
}

function CommitProgress({ companion, started, tally, name, patientId }: { companion: Companion; started: CommitStartResponse; tally: CommitTally; name: string; patientId: string }) {
  const byId = new Map((companion.state?.images ?? []).map((i) => [i.id, i]));
  const stillComing = stillComingLine(companion.state?.stillComing, patientId);
  return (
    <>
      <p aria-live="polite" data-testid="commit-tally">
        {tally.committed} of {tally.total} in Medtech for {name}
        {tally.waiting.length ? ` · ${tally.waiting.length} waiting` : ''}
        {tally.failed.length ? ` · ${tally.failed.length} failed` : ''}
      </p>
      {stillComing !== undefined ? (
        <p className="muted" data-testid="commit-still-coming">
          {stillComing}
        </p>
      ) : null}
      <ul className="commit-list">
        {started.queued.map((id) => {
          const img = byId.get(id);
          const p = img ? imageProgress(img, companion.progress) : null;
          return (
            <li key={id} className="commit-item">
              {img?.thumbnailUrl ? <img src={img.thumbnailUrl} alt="" className="commit-thumb" /> : <span className="commit-thumb" />}
              <div className="commit-item-body">
                <div className="image-row">
                  <span className="image-label">{img?.label ?? 'Image'}</span>
                  <StatusBadge status={img?.status ?? 'committed'} />
                </div>
                {p ? <ProgressBar fraction={p.fraction} label={p.label} /> : null}
                {img?.error && (img.status === 'failed' || img.status === 'waiting') ? <div className={img.status === 'failed' ? 'image-error' : 'image-wait'}>{img.error.message}</div> : null}
              </div>
              {img?.status === 'failed' ? <RetryButton companion={companion} imageId={id} /> : null}
            </li>
          );
        })}
      </ul>
      {started.skipped.length > 0 ? (
        <div className="skipped">
          <h3>Not sent</h3>
          <ul>
            {started.skipped.map((s) => (
              <li key={s.id}>
                {byId.get(s.id)?.label ?? 'Image'}: {s.error.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}

/** First where and how to send, then (the same dialog) how the sending goes. */
export function CommitDialog({ companion, target, onClose }: { companion: Companion; target: CommitTarget; onClose: () => void }) {
  const { settings } = companion;
  const { patient, ids, allReady, notReady } = target;
  const [targets, setTargets] = useState<CommitTargets>(settings?.defaultTargets ?? { media: false, inboxScan: true });
  const [captionStrip, setCaptionStrip] = useState(settings?.captionStrip ?? true);
  const [started, setStarted] = useState<CommitStartResponse | null>(null);
  const [busy, setBusy] = useState(false);
  const sendRef = useRef<HTMLButtonElement>(null);
  const name = formatPatientName(patient);
  const noTarget = !targets.media && !targets.inboxScan;
  const coming = allReady ? comingWithSendLine(companion.state?.phone, patient.id) : undefined;
  const tally = started ? tallyCommit(started.queued, companion.state?.images ?? [], companion.state?.outbox) : null;
  const progressTitle = !tally?.settled ? 'Sending to Medtech…' : tally.failed.length > 0 ? 'Some images were not sent' : tally.waiting.length > 0 ? 'Images are waiting to send' : 'Sent to Medtech';
  const targetText = targets.media && targets.inboxScan ? 'as a photo (Media) and to the Inbox' : targets.media ? 'as a photo (Media)' : targets.inboxScan ? 'to the Inbox (Inbox Scan)' : '';

  const start = async (): Promise<void> => {
    setBusy(true);
    const res = await companion.run((api) => api.commit.start(allReady ? { targets, captionStrip } : { ids, targets, captionStrip }));
    setBusy(false);
    if (res) setStarted(res);
  };

  return (
    <Dialog
      title={tally ? progressTitle : 'Send to Medtech'}
      onClose={onClose}
      initialFocus={sendRef}
      cancel={!started}
      actions={
        tally ? (
          <button type="button" className="button button-primary" onClick={onClose}>
            {tally.settled ? 'Close' : 'Keep working (sending continues)'}
          </button>
        ) : (
          <button type="button" ref={sendRef} className="button button-primary" disabled={busy || noTarget || ids.length === 0} onClick={() => void start()} data-testid="commit-send">
            {busy ? 'Sending…' : `Send ${plural(ids.length, 'image')}`}
          </button>
        )
      }
    >
      {started && tally ? (
        <CommitProgress companion={companion} started={started} tally={tally} name={name} patientId={patient.id} />
      ) : (
        <>
          <p className="commit-summary" data-testid="commit-summary">
            <strong>{plural(ids.length, 'image')}</strong> to <strong>{name}</strong> <span className="mono">({patient.nhi})</span>
            {targetText ? <>, {targetText}</> : null}.
          </p>
          {notReady > 0 ? <p className="muted small">{plural(notReady, 'other image')} still need details and will not be sent now.</p> : null}
          {coming !== undefined ? (
            <p className="small" data-testid="commit-coming">
              {coming}
            </p>
          ) : null}
          <TargetsField
            legend="Save in Medtech as"
            labels={[`Inbox Scan (${settings?.inboxScanFormat === 'tiff' ? 'TIFF' : 'PDF'}) — shows in the Inbox and on referral forms`, "Photo (Media) — kept with the patient's images"]}
            value={targets}
            onChange={setTargets}
          />
          <label className="check">
            <input type="checkbox" checked={captionStrip} onChange={(e) => setCaptionStrip(e.target.checked)} />
            Add a caption strip (body site, side, type, date) under the image
          </label>
        </>
      )}
    </Dialog>
  );
}

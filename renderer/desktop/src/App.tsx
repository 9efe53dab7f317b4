import { useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import type { ImageView } from '../../../shared/contracts/bridge';
import type { PatientSummary } from '../../../shared/contracts/common';
import { ACCEPT_ATTRIBUTE } from '../../common/files';
import { formatPatientName, plural } from '../../common/format';
import { isLocked } from '../../common/status';
import { ConnectionBar, LaunchState, NoticeList, PatientBanner, RejectedFiles } from './components/Banner';
import { CommitDialog, type CommitTarget } from './components/CommitDialog';
import { DetailsPanel } from './components/DetailsPanel';
import { ConfirmDialog } from './components/Dialog';
import { EnrolmentScreen } from './components/Enrolment';
import { FindPatientDialog } from './components/FindPatientDialog';
import { ImageGroup, groupSummary } from './components/ImageGrid';
import { OutboxDrawer } from './components/OutboxDrawer';
import { PhonePanel } from './components/PhonePanel';
import { PreviewDialog } from './components/PreviewDialog';
import { SettingsDialog, ShortcutsDialog } from './components/SettingsDialog';
import { groupImages, readyImages } from './logic/model';
import { stillComingLine } from './logic/send-status';
import { EMPTY_SELECTION, clickSelect, pruneSelection, selectAll, selectionAfterSwitch, type Selection } from './logic/selection';
import { isTyping, listen, useCapture } from './useCapture';
import { useCompanion } from './useCompanion';
import { useNow } from './useNow';

export function App() {
  const companion = useCompanion();
  const { state, settings } = companion;
  const nowMs = useNow(30_000);
  const now = useMemo(() => new Date(nowMs), [nowMs]);
  const [sel, setSel] = useState<Selection>(EMPTY_SELECTION);
  const [previewId, setPreviewId] = useState<string | null>(null);
  const [commit, setCommit] = useState<CommitTarget | null>(null);
  const [dialog, setDialog] = useState<'outbox' | 'settings' | 'shortcuts' | 'confirm-remove' | 'find-patient' | null>(null);
  const [showPhone, setShowPhone] = useState(true);
  /** Practice IT chose "Enrol this PC again" in Settings: the enrolment screen, while the PC is still enrolled. */
  const [reEnrolling, setReEnrolling] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const pickFiles = (): void => fileInput.current?.click();

  const images = useMemo(() => state?.images ?? [], [state]);
  const groups = groupImages(images);
  const patient = state?.launch.status === 'ready' ? state.patient : null;
  const capture = useCapture(companion, patient !== null, (id) => setSel({ ids: [id], anchor: id }));
  const workingIds = groups.working.map((i) => i.id);
  const selected = images.filter((i) => sel.ids.includes(i.id));
  const removable = selected.filter((i) => !isLocked(i.status));
  const liveOutbox = (state?.outbox ?? []).filter((o) => o.status !== 'committed').length;

  useEffect(() => {
    setSel((s) => pruneSelection(s, images.map((i) => i.id)));
  }, [images]);
  // A patient switch drops a selection of the previous patient's photos (and closes their preview).
  const workingPatientId = patient?.id ?? null;
  const lastPatientId = useRef(workingPatientId);
  useEffect(() => {
    if (lastPatientId.current === workingPatientId) return;
    lastPatientId.current = workingPatientId;
    setSel((s) => selectionAfterSwitch(s, workingIds));
    setPreviewId(null);
  });

  // The enrolment screen replaces the window: whatever dialog was open (a commit, a preview) does not come back after it.
  const enrolmentShown = state != null && (!state.enrolment.enrolled || reEnrolling);
  useEffect(() => {
    if (!enrolmentShown) return;
    setCommit(null);
    setDialog(null);
    setPreviewId(null);
  }, [enrolmentShown]);

  const openCommit = (to: PatientSummary, group: readonly ImageView[], allReady: boolean): void => {
    const ready = readyImages(group);
    if (ready.length > 0) setCommit({ patient: to, ids: ready.map((i) => i.id), allReady, notReady: group.filter((i) => i.status === 'needs-info').length });
  };
  const openCommitForWorking = (): void => {
    if (patient) openCommit(patient, groups.working, true);
  };

  // The keyboard shortcuts (not while typing, not under a dialog).
  const onKey = (e: KeyboardEvent): void => {
    if (document.querySelector('[data-dialog]')) return;
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && e.key.toLowerCase() === 'o') {
      e.preventDefault();
      if (patient) pickFiles();
    } else if (ctrl && e.key === 'Enter') {
      e.preventDefault();
      openCommitForWorking();
    } else if (isTyping(e.target)) {
      return;
    } else if (ctrl && e.key.toLowerCase() === 'a') {
      e.preventDefault();
      setSel(selectAll(workingIds));
    } else if (e.key === 'Delete' && removable.length > 0) {
      e.preventDefault();
      setDialog('confirm-remove');
    } else if (e.key === '?') {
      e.preventDefault();
      setDialog('shortcuts');
    } else if (e.key === 'Escape' && sel.ids.length > 0) {
      setSel(EMPTY_SELECTION);
    }
  };
  useEffect(() => listen({ keydown: onKey }));
  const onSelect = (id: string, e: MouseEvent, groupIds: string[]): void => setSel((s) => clickSelect(s, id, groupIds, { shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey }));
  const startPhone = async (): Promise<void> => {
    setShowPhone(true);
    if (!state?.phone?.active) await companion.run((api) => api.phone.start());
  };

  if (!state) {
    return (
      <main className="centre-screen">
        <ConnectionBar status={companion.connection} />
        <div className="empty-state" role="status">
          <div className="spinner" aria-hidden="true" />
          <p>Starting ClinicPro Images…</p>
        </div>
      </main>
    );
  }
  if (enrolmentShown) {
    return (
      <>
        <ConnectionBar status={companion.connection} />
        <EnrolmentScreen companion={companion} waiting={liveOutbox} onCancel={state.enrolment.enrolled ? () => setReEnrolling(false) : undefined} onDone={() => setReEnrolling(false)} />
      </>
    );
  }

  const previewImage = previewId ? images.find((i) => i.id === previewId) : undefined;
  const selectedIsWorking = selected.length > 0 && selected.every((i) => i.isWorkingPatient);
  const applyAllCount = groups.working.filter((i) => !isLocked(i.status) && i.status !== 'processing').length;
  const readyCount = readyImages(groups.working).length;
  const phone = state.phone?.active && patient && state.phone.patientId === patient.id ? state.phone : null;
  const stillComing = patient ? stillComingLine(state.stillComing, patient.id) : undefined;
  const stillComingFor = (patientId: string): string => {
    const line = stillComingLine(state.stillComing, patientId);
    return line === undefined ? '' : ` · ${line}`;
  };
  const groupProps = { companion, selected: sel.ids, onSelect, onOpen: setPreviewId };

  return (
    <div className={`app${capture.dragging ? ' is-dragging' : ''}`}>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            C
          </span>
          <h1 className="brand-name">ClinicPro Images</h1>
        </div>
        {patient ? (
          <PatientBanner patient={patient} now={now} onFindByNhi={() => setDialog('find-patient')} />
        ) : (
          <div className="patient-banner patient-banner-empty">No patient selected</div>
        )}
        <nav className="topbar-actions" aria-label="Main">
          <button type="button" className="button button-ghost" onClick={() => setDialog('outbox')} data-testid="open-outbox">
            Outbox{liveOutbox > 0 ? <span className="count">{liveOutbox}</span> : null}
          </button>
          <button type="button" className="button button-ghost" onClick={() => setDialog('settings')} disabled={!settings}>
            Settings
          </button>
          <button type="button" className="button button-ghost" onClick={() => setDialog('shortcuts')} aria-label="Keyboard shortcuts">
            ?
          </button>
        </nav>
      </header>
      <ConnectionBar status={companion.connection} />
      <NoticeList companion={companion} />
      {capture.rejected.length > 0 ? <RejectedFiles files={capture.rejected} onDismiss={capture.dismissRejected} /> : null}

      <div className="workspace">
        <main className="content" aria-label="Photos">
          {patient ? (
            <>
              <div className="capture-bar">
                <button type="button" className="button button-primary button-large" onClick={pickFiles} data-testid="add-files">
                  Add photos…
                </button>
                <button type="button" className="button button-large" onClick={() => void startPhone()} data-testid="start-phone">
                  {phone ? 'Show phone QR code' : 'Phone (QR code)'}
                </button>
                <span className="capture-hint muted">or drag photos in, or paste (Ctrl+V)</span>
                <span className="spacer" />
                {stillComing !== undefined ? (
                  <span className="muted" role="status" data-testid="still-coming">
                    {stillComing}
                  </span>
                ) : null}
                {capture.adding > 0 ? (
                  <span className="muted" role="status">
                    <span className="spinner spinner-small" aria-hidden="true" /> Adding {plural(capture.adding, 'file')}…
                  </span>
                ) : null}
                <button type="button" className="button button-commit button-large" disabled={readyCount === 0} onClick={openCommitForWorking} data-testid="commit-open">
                  Send {readyCount > 0 ? plural(readyCount, 'image') : ''} to Medtech
                </button>
              </div>
              {groups.working.length === 0 ? (
                <button type="button" className="dropzone" onClick={pickFiles}>
                  <span className="dropzone-icon" aria-hidden="true">
                    ⇪
                  </span>
                  <span className="dropzone-title">Drop photos here for {formatPatientName(patient)}</span>
                  <span className="muted">JPEG, PNG, HEIC (iPhone), WebP, TIFF or PDF — or click to choose files</span>
                </button>
              ) : (
                <ImageGroup
                  title={`Photos for ${formatPatientName(patient)}`}
                  subtitle={groupSummary(groups.working)}
                  images={groups.working}
                  {...groupProps}
                  testId="group-working"
                  actions={
                    <>
                      <button type="button" className="button button-small" onClick={() => setSel(selectAll(workingIds))}>
                        Select all
                      </button>
                      {removable.length > 0 && selectedIsWorking ? (
                        <button type="button" className="button button-small button-danger-quiet" onClick={() => setDialog('confirm-remove')}>
                          Remove {removable.length}
                        </button>
                      ) : null}
                    </>
                  }
                />
              )}
            </>
          ) : (
            <LaunchState state={state} onFindByNhi={() => setDialog('find-patient')} />
          )}
          {groups.others.map((g) => {
            const ready = readyImages(g.images);
            return (
              <ImageGroup
                key={g.patient.id}
                other
                title={`Belongs to ${formatPatientName(g.patient)}`}
                subtitle={`NHI ${g.patient.nhi} · ${groupSummary(g.images)} · these stay with this patient${stillComingFor(g.patient.id)}`}
                images={g.images}
                {...groupProps}
                testId="group-other"
                actions={
                  ready.length > 0 ? (
                    <button type="button" className="button button-small button-commit" onClick={() => openCommit(g.patient, g.images, false)}>
                      Send {plural(ready.length, 'image')} to {formatPatientName(g.patient)}
                    </button>
                  ) : null
                }
              />
            );
          })}
          {/* Inside the main landmark, like everything else on the page (axe: region). */}
          <input
            ref={fileInput}
            type="file"
            multiple
            accept={ACCEPT_ATTRIBUTE}
            className="visually-hidden"
            tabIndex={-1}
            aria-label="Choose photos to add"
            data-testid="file-input"
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              e.target.value = '';
              void capture.addFiles(files);
            }}
          />
        </main>
        <aside className="sidebar" aria-label="Phone and details">
          {phone && showPhone && patient ? <PhonePanel companion={companion} phone={phone} patientName={formatPatientName(patient)} onClose={() => setShowPhone(false)} /> : null}
          <DetailsPanel companion={companion} selected={selected} applyAllCount={selectedIsWorking ? applyAllCount : 0} />
        </aside>
      </div>

      {capture.dragging ? (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-card">{patient ? `Drop to add photos for ${formatPatientName(patient)}` : 'Launch from Medtech Evolution first, then drop the photos'}</div>
        </div>
      ) : null}

      {previewImage ? <PreviewDialog companion={companion} image={previewImage} onClose={() => setPreviewId(null)} /> : null}
      {commit ? <CommitDialog companion={companion} target={commit} onClose={() => setCommit(null)} /> : null}
      {dialog === 'outbox' ? <OutboxDrawer companion={companion} now={now} onClose={() => setDialog(null)} /> : null}
      {dialog === 'settings' && settings ? (
        <SettingsDialog
          companion={companion}
          settings={settings}
          onClose={() => setDialog(null)}
          onEnrolAgain={() => {
            setDialog(null);
            setReEnrolling(true);
          }}
        />
      ) : null}
      {dialog === 'shortcuts' ? <ShortcutsDialog onClose={() => setDialog(null)} /> : null}
      {dialog === 'find-patient' ? <FindPatientDialog companion={companion} pending={state.pendingLookup} now={now} onClose={() => setDialog(null)} /> : null}
      {dialog === 'confirm-remove' ? (
        <ConfirmDialog
          title="Remove photos?"
          message={`${plural(removable.length, 'photo')} will be removed from this PC and not sent to Medtech.`}
          confirmLabel={`Remove ${plural(removable.length, 'photo')}`}
          onCancel={() => setDialog(null)}
          onConfirm={() => {
            const ids = removable.map((i) => i.id);
            setDialog(null);
            if (ids.length > 0) void companion.run((api) => api.images.remove({ ids }));
          }}
        />
      ) : null}
    </div>
  );
}

import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from 'react';
import { AppError, type ErrorBody } from '../../../shared/errors/app-error';
import type { PatientSummary } from '../../../shared/contracts/common';
import { ACCEPT_ATTRIBUTE, bytesToBase64, pastedName, planBatches } from '../../common/files';
import { formatPatientName, plural } from '../../common/format';
import { isLocked } from '../../common/status';
import { ConnectionBar, LaunchState, NoticeList, PatientBanner } from './components/Banner';
import { CommitDialog } from './components/CommitDialog';
import { DetailsPanel } from './components/DetailsPanel';
import { medtechActions } from './components/MedtechCheck';
import { ConfirmDialog } from './components/Dialog';
import { EnrolmentScreen } from './components/Enrolment';
import { FindPatientDialog } from './components/FindPatientDialog';
import { ImageGroup, groupSummary, otherGroupTitle } from './components/ImageGrid';
import { OutboxDrawer } from './components/OutboxDrawer';
import { PhonePanel } from './components/PhonePanel';
import { PreviewDialog } from './components/PreviewDialog';
import { SettingsDialog, ShortcutsDialog } from './components/SettingsDialog';
import { groupImages, readyImages } from './logic/model';
import { EMPTY_SELECTION, clickSelect, pruneSelection, selectAll, selectionAfterSwitch, type Selection } from './logic/selection';
import { useCompanion } from './useCompanion';

interface Rejected {
  name: string;
  error: ErrorBody;
}
interface CommitTarget {
  patient: PatientSummary;
  ids: string[];
  allReady: boolean;
  notReady: number;
}

function useNow(intervalMs: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = window.setInterval(() => setNow(new Date()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs]);
  return now;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

export function App() {
  const companion = useCompanion();
  const { state, settings, progress } = companion;
  const now = useNow(30_000);
  const [sel, setSel] = useState<Selection>(EMPTY_SELECTION);
  const [previewId, setPreviewId] = useState<string | null>(null);
  const [commit, setCommit] = useState<CommitTarget | null>(null);
  const [dialog, setDialog] = useState<'outbox' | 'settings' | 'shortcuts' | 'confirm-remove' | 'find-patient' | null>(null);
  const [showPhone, setShowPhone] = useState(true);
  /** Practice IT chose "Enrol this PC again" in Settings: the enrolment screen, while the PC is still enrolled. */
  const [reEnrolling, setReEnrolling] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [adding, setAdding] = useState(0);
  const [rejected, setRejected] = useState<Rejected[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);

  const images = useMemo(() => state?.images ?? [], [state]);
  const groups = useMemo(() => groupImages(images), [images]);
  const patient = state?.launch.status === 'ready' ? state.patient : null;
  const workingIds = useMemo(() => groups.working.map((i) => i.id), [groups]);
  const selected = useMemo(() => images.filter((i) => sel.ids.includes(i.id)), [images, sel]);
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
  }, [workingPatientId, workingIds]);

  // The enrolment screen replaces the window: whatever dialog was open (a commit, a preview) does not come back after it.
  const enrolmentShown = state != null && (!state.enrolment.enrolled || reEnrolling);
  useEffect(() => {
    if (!enrolmentShown) return;
    setCommit(null);
    setDialog(null);
    setPreviewId(null);
  }, [enrolmentShown]);

  // --- adding files --------------------------------------------------------------------------------------
  const addFiles = useCallback(
    async (files: File[]) => {
      if (files.length === 0) return;
      if (!patient) {
        companion.reportError(new AppError('ERR_NO_PATIENT'));
        return;
      }
      const plan = planBatches(files);
      const refused: Rejected[] = plan.rejected.map((r) => ({ name: r.name, error: r.error }));
      setAdding((n) => n + files.length - plan.rejected.length);
      for (const batch of plan.batches) {
        try {
          const payload = await Promise.all(batch.map(async (b) => ({ name: b.name, dataBase64: bytesToBase64(new Uint8Array(await files[b.index]!.arrayBuffer())) })));
          const res = await companion.run((api) => api.images.addFiles({ files: payload }));
          if (res) refused.push(...res.rejected);
          if (res && res.imageIds.length > 0 && batch === plan.batches[0]) setSel({ ids: [res.imageIds[0]!], anchor: res.imageIds[0]! });
        } catch {
          for (const b of batch) refused.push({ name: b.name, error: { code: 'ERR_STORAGE_IO', message: 'This file could not be read from the PC. Try adding it again.', action: 'retry', retryable: true } });
        } finally {
          setAdding((n) => Math.max(0, n - batch.length));
        }
      }
      if (refused.length > 0) setRejected((r) => [...r, ...refused].slice(-20));
    },
    [companion, patient],
  );

  // Drag and drop anywhere in the window; paste of an image.
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
    const onEnter = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      setDragging(true);
    };
    const onOver = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = patient ? 'copy' : 'none';
    };
    const onLeave = (e: DragEvent): void => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const onDrop = (e: DragEvent): void => {
      e.preventDefault();
      depth = 0;
      setDragging(false);
      const files = [...(e.dataTransfer?.files ?? [])];
      if (files.length > 0 && patient) void addFiles(files);
    };
    const onPaste = (e: ClipboardEvent): void => {
      if (isTyping(e.target)) return;
      const at = new Date();
      const files = [...(e.clipboardData?.items ?? [])]
        .filter((i) => i.kind === 'file')
        .map((i) => i.getAsFile())
        .filter((f): f is File => f !== null)
        .map((f) => (f.name && f.name !== 'image.png' ? f : new File([f], pastedName(f.type, at), { type: f.type })));
      if (files.length > 0) {
        e.preventDefault();
        void addFiles(files);
      }
    };
    window.addEventListener('dragenter', onEnter);
    window.addEventListener('dragover', onOver);
    window.addEventListener('dragleave', onLeave);
    window.addEventListener('drop', onDrop);
    window.addEventListener('paste', onPaste);
    return () => {
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
      window.removeEventListener('paste', onPaste);
    };
  }, [addFiles, patient]);

  // --- actions ---------------------------------------------------------------------------------------------
  const onSelect = (id: string, e: MouseEvent, groupIds: string[]): void => setSel((s) => clickSelect(s, id, groupIds, { shift: e.shiftKey, toggle: e.ctrlKey || e.metaKey }));
  const openCommitForWorking = useCallback(() => {
    if (!patient) return;
    const ready = readyImages(groups.working);
    if (ready.length === 0) return;
    setCommit({ patient, ids: ready.map((i) => i.id), allReady: true, notReady: groups.working.filter((i) => i.status === 'needs-info').length });
  }, [groups, patient]);
  const removable = selected.filter((i) => !isLocked(i.status));
  const startPhone = async (): Promise<void> => {
    setShowPhone(true);
    if (!state?.phone?.active) await companion.run((api) => api.phone.start());
  };

  // Keyboard shortcuts (not while typing, not under a dialog).
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (document.querySelector('[data-dialog]')) return;
      const typing = isTyping(e.target);
      const ctrl = e.ctrlKey || e.metaKey;
      if (ctrl && e.key.toLowerCase() === 'o') {
        e.preventDefault();
        if (patient) fileInput.current?.click();
      } else if (ctrl && e.key === 'Enter') {
        e.preventDefault();
        openCommitForWorking();
      } else if (typing) {
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
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [patient, openCommitForWorking, workingIds, removable.length, sel.ids.length]);

  // --- screens ---------------------------------------------------------------------------------------------
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
  if (!state.enrolment.enrolled || reEnrolling) {
    return (
      <>
        <ConnectionBar status={companion.connection} />
        <EnrolmentScreen
          companion={companion}
          defaultGatewayUrl={settings?.gatewayUrl ?? ''}
          enrolment={state.enrolment}
          waiting={liveOutbox}
          {...(state.enrolment.enrolled ? { onCancel: () => setReEnrolling(false) } : {})}
          onDone={() => setReEnrolling(false)}
        />
      </>
    );
  }

  const previewImage = previewId ? images.find((i) => i.id === previewId) : undefined;
  const selectedIsWorking = selected.length > 0 && selected.every((i) => i.isWorkingPatient);
  const applyAllCount = groups.working.filter((i) => !isLocked(i.status) && i.status !== 'processing').length;
  const readyCount = readyImages(groups.working).length;
  const phone = state.phone?.active && patient && state.phone.patientId === patient.id ? state.phone : null;
  // What every photo group (the working patient's and each other patient's) shares.
  const groupProps = {
    selected: sel.ids,
    progress,
    outbox: state.outbox,
    onSelect,
    onOpen: setPreviewId,
    onRetry: (id: string) => void companion.run((api) => api.outbox.retry({ imageId: id })),
    medtech: medtechActions(companion.run),
  };

  return (
    <div className={`app${dragging ? ' is-dragging' : ''}`}>
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
      <NoticeList
        notices={state.notices}
        alerts={companion.alerts}
        onDismiss={(id) => void companion.run((api) => api.notices.dismiss({ id }))}
        onDismissAlert={companion.dismissAlert}
      />
      {rejected.length > 0 ? (
        <section className="rejected" role="alert" aria-label="Files not added" data-testid="rejected-files">
          <header>
            <strong>{plural(rejected.length, 'file')} not added</strong>
            <button type="button" className="button button-quiet" onClick={() => setRejected([])}>
              Dismiss
            </button>
          </header>
          <ul>
            {rejected.map((r, i) => (
              <li key={`${r.name}-${i}`}>
                <span className="rejected-name">{r.name}</span>: {r.error.message}
              </li>
            ))}
          </ul>
        </section>
      ) : null}

      <div className="workspace">
        <main className="content" aria-label="Photos">
          {patient ? (
            <>
              <div className="capture-bar">
                <button type="button" className="button button-primary button-large" onClick={() => fileInput.current?.click()} data-testid="add-files">
                  Add photos…
                </button>
                <button type="button" className="button button-large" onClick={() => void startPhone()} data-testid="start-phone">
                  {phone ? 'Show phone QR code' : 'Phone (QR code)'}
                </button>
                <span className="capture-hint muted">or drag photos in, or paste (Ctrl+V)</span>
                <span className="spacer" />
                {adding > 0 ? (
                  <span className="muted" role="status">
                    <span className="spinner spinner-small" aria-hidden="true" /> Adding {plural(adding, 'file')}…
                  </span>
                ) : null}
                <button type="button" className="button button-commit button-large" disabled={readyCount === 0} onClick={openCommitForWorking} data-testid="commit-open">
                  Send {readyCount > 0 ? plural(readyCount, 'image') : ''} to Medtech
                </button>
              </div>
              {groups.working.length === 0 ? (
                <button type="button" className="dropzone" onClick={() => fileInput.current?.click()}>
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
                title={otherGroupTitle(g.images)}
                subtitle={`NHI ${g.patient.nhi} · ${groupSummary(g.images)} · these stay with this patient`}
                images={g.images}
                {...groupProps}
                testId="group-other"
                actions={
                  ready.length > 0 ? (
                    <button
                      type="button"
                      className="button button-small button-commit"
                      onClick={() => setCommit({ patient: g.patient, ids: ready.map((i) => i.id), allReady: false, notReady: g.images.filter((i) => i.status === 'needs-info').length })}
                    >
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
              void addFiles(files);
            }}
          />
        </main>
        <aside className="sidebar" aria-label="Phone and details">
          {phone && showPhone && patient ? <PhonePanel companion={companion} phone={phone} patientName={formatPatientName(patient)} onClose={() => setShowPhone(false)} /> : null}
          <DetailsPanel companion={companion} selected={selected} applyAllCount={selectedIsWorking ? applyAllCount : 0} requiredFields={settings?.requiredFields ?? []} />
        </aside>
      </div>

      {dragging ? (
        <div className="drop-overlay" aria-hidden="true">
          <div className="drop-card">{patient ? `Drop to add photos for ${formatPatientName(patient)}` : 'Launch from Medtech Evolution first, then drop the photos'}</div>
        </div>
      ) : null}

      {previewImage ? <PreviewDialog companion={companion} image={previewImage} onClose={() => setPreviewId(null)} /> : null}
      {commit ? (
        <CommitDialog
          companion={companion}
          state={state}
          settings={settings}
          progress={progress}
          patient={commit.patient}
          ids={commit.ids}
          allReady={commit.allReady}
          notReady={commit.notReady}
          onClose={() => setCommit(null)}
        />
      ) : null}
      {dialog === 'outbox' ? <OutboxDrawer companion={companion} items={state.outbox} labels={new Map(images.map((i) => [i.id, i.label]))} onClose={() => setDialog(null)} now={now} /> : null}
      {dialog === 'settings' && settings ? (
        <SettingsDialog
          companion={companion}
          settings={settings}
          enrolment={state.enrolment}
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

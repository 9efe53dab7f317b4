import type { AppState } from '../../../../shared/contracts/bridge';
import type { PatientSummary } from '../../../../shared/contracts/common';
import { formatDob, formatPatientName, formatSex, plural } from '../../../common/format';
import type { ConnectionStatus } from '../bridge';
import type { ErrorAction } from '../../../../shared/errors/codes';
import type { Rejected } from '../useCapture';
import type { Companion } from '../useCompanion';

/** Facts about a patient as a description list: [term, value, class of the value]. */
export function Facts({ rows, ...dl }: { rows: [string, string, string?][]; id?: string; className: string }) {
  return (
    <dl {...dl}>
      {rows.map(([term, value, className]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd className={className}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The working patient, always visible while one is verified. `onFindByNhi`: the "Wrong patient?" way out. */
export function PatientBanner({ patient, now, onFindByNhi }: { patient: PatientSummary; now: Date; onFindByNhi: () => void }) {
  return (
    <section className="patient-banner" aria-label="Patient" data-testid="patient-banner">
      <div className="patient-name">{formatPatientName(patient)}</div>
      <Facts
        className="patient-facts"
        rows={[
          ['NHI', patient.nhi, 'mono'],
          ['Born', formatDob(patient.birthDate, now)],
          ['Sex', formatSex(patient.sex)],
        ]}
      />
      <button type="button" className="button button-quiet banner-link" onClick={onFindByNhi} data-testid="banner-find-by-nhi">
        <span>Wrong patient?</span> <span>Find by NHI</span>
      </button>
    </section>
  );
}

/** The fallback offered wherever there is no patient: find one by NHI (the GP confirms it). */
function FindByNhi({ onFindByNhi }: { onFindByNhi: () => void }) {
  return (
    <div className="find-by-nhi">
      <span className="muted">Cannot launch from Evolution?</span>
      <button type="button" className="button" onClick={onFindByNhi} data-testid="find-by-nhi">
        Find patient by NHI
      </button>
    </div>
  );
}

const AGAIN = 'Wait a moment, then click the ClinicPro Images button in Medtech Evolution again.';
const NEXT_STEP: Partial<Record<ErrorAction, string>> = {
  relaunch: 'Click the ClinicPro Images button in Medtech Evolution again.',
  enrol: 'Ask your practice IT contact to enrol this PC again.',
  wait: AGAIN,
  retry: AGAIN,
};

/** What the main area shows while there is no verified patient. */
export function LaunchState({ state, onFindByNhi }: { state: AppState; onFindByNhi: () => void }) {
  const { launch } = state;
  if (launch.status === 'verifying') {
    return (
      <div className="empty-state" role="status" data-testid="launch-verifying">
        <div className="spinner" aria-hidden="true" />
        <h2>Checking the patient with Medtech…</h2>
        <p className="muted">This takes a moment. Nothing is shown until the patient is confirmed.</p>
      </div>
    );
  }
  if (launch.status === 'error' && launch.error) {
    const action = NEXT_STEP[launch.error.action] ?? 'If this keeps happening, call ClinicPro support.';
    return (
      <div className="empty-state empty-state-error" role="alert" data-testid="launch-error">
        <div className="empty-icon" aria-hidden="true">
          !
        </div>
        <h2>The patient could not be opened</h2>
        <p className="lead">{launch.error.message}</p>
        <p>{action}</p>
        {launch.error.correlationId ? <p className="muted small">Reference {launch.error.correlationId.slice(0, 8)}</p> : null}
        <FindByNhi onFindByNhi={onFindByNhi} />
      </div>
    );
  }
  const first = state.images.length === 0 && state.outbox.length === 0;
  return (
    <div className="empty-state" data-testid="no-patient">
      <div className="empty-icon" aria-hidden="true">
        ⌂
      </div>
      <h2>{first ? 'Launch from Medtech Evolution' : 'No patient selected'}</h2>
      <p className="lead">Open the patient in Medtech Evolution, then click the ClinicPro Images button on its toolbar.</p>
      <p className="muted">Photos can only be added once the patient is confirmed, so they always go to the right record.</p>
      <FindByNhi onFindByNhi={onFindByNhi} />
    </div>
  );
}

export function ConnectionBar({ status }: { status: ConnectionStatus }) {
  if (status === 'connected') return null;
  if (status === 'refused') {
    return (
      <div className="connection-bar connection-refused" role="alert">
        This window is not connected to ClinicPro Images. Close it and open ClinicPro Images again.
      </div>
    );
  }
  return (
    <div className="connection-bar" role="status" aria-live="polite">
      <span className="spinner spinner-small" aria-hidden="true" /> {status === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
    </div>
  );
}

/** Notices from the core (stay until dismissed) and local alerts (a call that failed). */
export function NoticeList({ companion }: { companion: Companion }) {
  const notices = (companion.state?.notices ?? []).map((n) => ({ ...n, key: n.id, detail: undefined, dismiss: () => void companion.run((api) => api.notices.dismiss({ id: n.id })) }));
  const alerts = companion.alerts.map((a) => ({ ...a, key: `alert-${a.id}`, level: 'error', kind: undefined, dismiss: () => companion.dismissAlert(a.id) }));
  return (
    <div className="notices" aria-live="polite" aria-relevant="additions text">
      {[...notices, ...alerts].map((n) => (
        <div key={n.key} className={`notice notice-${n.level}`} role={n.level === 'error' ? 'alert' : 'status'} data-testid={n.kind && `notice-${n.kind}`}>
          <span className="notice-symbol" aria-hidden="true">
            {n.level === 'error' ? '✕' : n.level === 'warning' ? '!' : 'i'}
          </span>
          <span className="notice-text">
            {n.message}
            {n.detail ? <span className="muted small"> {n.detail}</span> : null}
          </span>
          <button type="button" className="button button-quiet" onClick={n.dismiss} aria-label={`Dismiss: ${n.message}`}>
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}

/** The files the last adds refused, each with why, until dismissed. */
export function RejectedFiles({ files, onDismiss }: { files: Rejected[]; onDismiss: () => void }) {
  return (
    <section className="rejected" role="alert" aria-label="Files not added" data-testid="rejected-files">
      <header>
        <strong>{plural(files.length, 'file')} not added</strong>
        <button type="button" className="button button-quiet" onClick={onDismiss}>
          Dismiss
        </button>
      </header>
      <ul>
        {files.map((r, i) => (
          <li key={`${r.name}-${i}`}>
            <span className="rejected-name">{r.name}</span>: {r.error.message}
          </li>
        ))}
      </ul>
    </section>
  );
}

import { useState } from 'react';
import type { CommitTargets, MetadataField, Settings, SettingsPatch } from '../../../../shared/contracts/bridge';
import { FIELD_LABELS, METADATA_FIELDS } from '../logic/metadata';
import type { Companion } from '../useCompanion';
import { ConfirmDialog, Dialog } from './Dialog';

/** Where a photo goes in Medtech: Inbox Scan and/or Photo (Media), at least one. */
export function TargetsField({ legend, labels, value, onChange }: { legend: string; labels: [string, string]; value: CommitTargets; onChange: (t: CommitTargets) => void }) {
  return (
    <fieldset className="field">
      <legend className="field-label">{legend}</legend>
      {(['inboxScan', 'media'] as const).map((key, i) => (
        <label key={key} className="check">
          <input type="checkbox" checked={value[key]} onChange={(e) => onChange({ ...value, [key]: e.target.checked })} />
          {labels[i]}
        </label>
      ))}
      {!value.media && !value.inboxScan ? (
        <p className="form-error" role="alert">
          Choose at least one.
        </p>
      ) : null}
    </fieldset>
  );
}

/** One of a few choices as joined buttons (radio inputs underneath); `group` goes on the wrapper (a role and label). */
export function Segmented<T extends string>({ name, options, value, onChange, ...group }: { name: string; options: readonly { key: T; display: string }[]; value: string; onChange: (key: T) => void; role?: string; 'aria-label'?: string }) {
  return (
    <div className="segmented" {...group}>
      {options.map((o) => (
        <label key={o.key} className={value === o.key ? 'is-on' : undefined}>
          <input type="radio" name={name} value={o.key} checked={value === o.key} onChange={() => onChange(o.key)} />
          {o.display}
        </label>
      ))}
    </div>
  );
}

const SCAN_FORMATS = [{ key: 'pdf', display: 'PDF' }, { key: 'tiff', display: 'TIFF' }] as const;

/** `onEnrolAgain`: practice IT confirmed "Enrol this PC again" (the enrolment screen opens). */
export function SettingsDialog({ companion, settings, onClose, onEnrolAgain }: { companion: Companion; settings: Settings; onClose: () => void; onEnrolAgain: () => void }) {
  const enrolment = companion.state?.enrolment;
  const [draft, setDraft] = useState<Settings>(settings);
  const [busy, setBusy] = useState(false);
  const [confirmEnrol, setConfirmEnrol] = useState(false);
  const noTarget = !draft.defaultTargets.media && !draft.defaultTargets.inboxScan;
  const save = async (): Promise<void> => {
    const patch: SettingsPatch = {
      roomLabel: draft.roomLabel.trim().slice(0, 60) || 'Consult room',
      defaultTargets: draft.defaultTargets,
      inboxScanFormat: draft.inboxScanFormat,
      captionStrip: draft.captionStrip,
      requiredFields: draft.requiredFields,
    };
    setBusy(true);
    const saved = await companion.run((api) => api.settings.set({ patch }));
    setBusy(false);
    if (saved) {
      await companion.refreshSettings();
      onClose();
    }
  };
  const toggleField = (f: MetadataField, on: boolean): void =>
    setDraft((d) => ({ ...d, requiredFields: on ? METADATA_FIELDS.filter((x) => x === f || d.requiredFields.includes(x)) : d.requiredFields.filter((x) => x !== f) }));
  return (
    <Dialog
      title="Settings"
      onClose={onClose}
      cancel
      actions={
        <button type="button" className="button button-primary" disabled={busy || noTarget} onClick={() => void save()}>
          Save
        </button>
      }
    >
      <label className="field">
        <span className="field-label">Room name (shown on the phone)</span>
        <input value={draft.roomLabel} maxLength={60} onChange={(e) => setDraft({ ...draft, roomLabel: e.target.value })} />
      </label>
      <TargetsField legend="Send to Medtech as (default)" labels={['Inbox Scan', 'Photo (Media)']} value={draft.defaultTargets} onChange={(t) => setDraft({ ...draft, defaultTargets: t })} />
      <fieldset className="field">
        <legend className="field-label">Inbox Scan file type</legend>
        <Segmented name="scanformat" options={SCAN_FORMATS} value={draft.inboxScanFormat} onChange={(f) => setDraft({ ...draft, inboxScanFormat: f })} />
      </fieldset>
      <label className="check">
        <input type="checkbox" checked={draft.captionStrip} onChange={(e) => setDraft({ ...draft, captionStrip: e.target.checked })} />
        Add a caption strip to images by default
      </label>
      <fieldset className="field">
        <legend className="field-label">Details required before sending</legend>
        {METADATA_FIELDS.map((f) => (
          <label key={f} className="check">
            <input type="checkbox" checked={draft.requiredFields.includes(f)} onChange={(e) => toggleField(f, e.target.checked)} />
            {FIELD_LABELS[f]}
            {f === 'laterality' ? ' (only for sites with a side)' : ''}
            {f === 'consent' ? ' (verbal, written or not needed, per photo)' : ''}
          </label>
        ))}
      </fieldset>
      <fieldset className="field">
        <legend className="field-label">This PC</legend>
        <p className="muted small">
          {enrolment?.deviceName ?? 'This PC'}
          {enrolment?.practiceName ? `, enrolled with ${enrolment.practiceName}` : ''}. For practice IT: enrol it again with a new code (for example after the
          practice was told to, or to give it a new security key).
        </p>
        <button type="button" className="button" onClick={() => setConfirmEnrol(true)}>
          Enrol this PC again…
        </button>
      </fieldset>
      {confirmEnrol ? (
        <ConfirmDialog
          title="Enrol this PC again?"
          message={`You need a new enrolment code from your practice's ClinicPro administrator. This PC stays enrolled${enrolment?.practiceName ? ` with ${enrolment.practiceName}` : ''} until the new code is accepted, then its old access is replaced. Photos waiting to be sent stay on this PC.`}
          confirmLabel="Enrol again"
          onCancel={() => setConfirmEnrol(false)}
          onConfirm={() => {
            setConfirmEnrol(false);
            onEnrolAgain();
          }}
        />
      ) : null}
    </Dialog>
  );
}

const SHORTCUTS: { keys: string; what: string }[] = [
  { keys: 'Ctrl + O', what: 'Add photos from this PC' },
  { keys: 'Ctrl + V', what: 'Paste a copied image' },
  { keys: 'Ctrl + A', what: 'Select all photos of this patient' },
  { keys: '← → ↑ ↓', what: 'Move between photos (up and down by row)' },
  { keys: 'Home / End', what: 'First / last photo' },
  { keys: 'Space / Enter', what: 'Select the photo that has the focus' },
  { keys: 'Delete', what: 'Remove the selected photos (asks first)' },
  { keys: 'Ctrl + Enter', what: 'Send to Medtech' },
  { keys: 'Esc', what: 'Close a dialog' },
  { keys: '?', what: 'Show these shortcuts' },
];

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} size="small">
      {/* Focusable, so the list can be scrolled with the keyboard when zoomed in (it has no other control). */}
      <div className="shortcuts-list" tabIndex={0} role="group" aria-label="Shortcut list">
        <table className="shortcuts">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys}>
                <th scope="row">
                  <kbd>{s.keys}</kbd>
                </th>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Dialog>
  );
}

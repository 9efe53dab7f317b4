import { useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import type { ImageView, MetadataField } from '../../../../shared/contracts/bridge';
import { CONSENTS, IMAGE_TYPES, LATERALITIES, VIEWS, findBodySite, searchBodySites } from '../../../../shared/coded/values';
import { LIMITS } from '../../../../shared/limits';
import { formatPatientName, plural } from '../../../common/format';
import { isLocked } from '../../../common/status';
import { FIELD_LABELS, MIXED, describeMetadata, draftFrom, isLateralSite, patchFrom, type Draft } from '../logic/metadata';
import { lockedReason } from '../logic/send-status';
import type { Companion } from '../useCompanion';
import { Segmented } from './SettingsDialog';
import { InMedtechTag, MedtechCheck } from './MedtechCheck';

/** Body site picker: type to search; favourites first; arrow keys + Enter to pick. */
function BodySitePicker({ value, onChange, required }: { value: string; onChange: (code: string) => void; required: boolean }) {
  const id = useId();
  const current = value === MIXED ? 'Mixed' : value ? (findBodySite(value)?.display ?? '') : '';
  const [query, setQuery] = useState(current);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const options = useMemo(() => searchBodySites(open && query !== current ? query : '', 12), [open, query, current]);
  useEffect(() => setQuery(current), [current]);

  const openList = (): void => {
    setOpen(true);
    setActive(0);
  };
  const pick = (code: string): void => {
    onChange(code);
    setQuery(findBodySite(code)?.display ?? '');
    setOpen(false);
  };
  return (
    <div className="field combobox">
      <label className="field-label" htmlFor={`${id}-input`}>
        Body site{required ? <span className="required"> (required)</span> : null}
      </label>
      <input
        id={`${id}-input`}
        role="combobox"
        aria-expanded={open}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={open && options[active] ? `${id}-opt-${active}` : undefined}
        value={query}
        placeholder="Search, e.g. forearm, shin, scalp"
        onFocus={(e) => {
          openList();
          e.currentTarget.select();
        }}
        onBlur={() => window.setTimeout(() => setOpen(false), 150)}
        onChange={(e) => {
          setQuery(e.target.value);
          openList();
          if (e.target.value === '') onChange('');
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setOpen(true);
            setActive((a) => Math.min(options.length - 1, a + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === 'Enter' && open && options[active]) {
            e.preventDefault();
            pick(options[active].code);
          } else if (e.key === 'Escape' && open) {
            e.stopPropagation();
            setOpen(false);
            setQuery(current);
          }
        }}
      />
      {open ? (
        <ul id={`${id}-list`} role="listbox" className="listbox" aria-label="Body sites">
          {options.length === 0 ? <li className="listbox-empty">No match. Try another word, or "Skin (site not listed)".</li> : null}
          {options.map((s, i) => (
            <li
              key={s.code}
              id={`${id}-opt-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'is-active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(s.code);
              }}
            >
              {s.favourite ? (
                <span className="fav" aria-label="Favourite">
                  ★{' '}
                </span>
              ) : null}
              {s.display}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** One coded detail as a select: "Mixed" while the selected photos differ, then "not set" and the codes. */
function CodedSelect(props: { label: ReactNode; value: string; empty: string; codes: readonly { key: string; display: string }[]; onChange: (v: string) => void; testId?: string }) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId}>
        {props.value === MIXED ? <option value={MIXED}>Mixed</option> : null}
        <option value="">{props.empty}</option>
        {props.codes.map((c) => (
          <option key={c.key} value={c.key}>
            {c.display}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The details of the selected photos (all of one patient); "Apply to all" covers the working patient's unsent ones. */
export function DetailsPanel({ companion, selected, applyAllCount }: { companion: Companion; selected: readonly ImageView[]; applyAllCount: number }) {
  const key = selected.map((i) => `${i.id}:${JSON.stringify(i.metadata)}`).join('|');
  const [draft, setDraft] = useState<Draft>(() => draftFrom(selected));
  const [dirty, setDirty] = useState<Set<MetadataField>>(new Set());
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setDraft(draftFrom(selected));
    setDirty(new Set());
    // Reset the form when the selection or the images' saved metadata change.
  }, [key]);

  const set = (f: MetadataField, v: string): void => {
    setDraft((d) => ({ ...d, [f]: v }));
    setDirty((s) => new Set(s).add(f));
  };
  const required = (f: MetadataField): boolean => companion.settings?.requiredFields.includes(f) ?? false;
  const label = (f: MetadataField): ReactNode => (
    <>
      {FIELD_LABELS[f]}
      {required(f) ? <span className="required"> (required)</span> : null}
    </>
  );
  const editable = selected.filter((i) => !isLocked(i.status));
  const patch = patchFrom(draft, dirty);
  const hasChanges = Object.keys(patch).length > 0;

  const apply = async (all: boolean): Promise<void> => {
    setBusy(true);
    const done = all
      ? await companion.run((api) => api.images.applyMetadataToAll({ patch }))
      : await companion.run((api) => api.images.updateMetadata({ ids: editable.map((i) => i.id), patch }));
    setBusy(false);
    if (done) setDirty(new Set());
  };

  if (selected.length === 0) {
    return (
      <section className="panel details" aria-label="Details">
        <h2>Details</h2>
        <p className="muted">Select photos to add the body site, side, view, type, the patient's consent and a caption. Ctrl-click or Shift-click selects several.</p>
      </section>
    );
  }
  return (
    <section className="panel details" aria-label="Details" data-testid="details-panel">
      <h2>Details · {plural(selected.length, 'photo')} selected</h2>
      <OwnerNote images={selected} />
      {editable.length === 0 ? (
        <>
          <p className="muted">{lockedReason(selected)}</p>
          <ul className="details-readonly">
            {selected.map((i) => (
              <li key={i.id}>
                <strong>{i.label}</strong>: {describeMetadata(i.metadata) || 'no details'}
                {i.metadata.caption ? ` · “${i.metadata.caption}”` : ''} <InMedtechTag image={i} />
                <MedtechCheck image={i} companion={companion} />
              </li>
            ))}
          </ul>
        </>
      ) : (
        <>
          {editable.length < selected.length ? <p className="muted small">{plural(selected.length - editable.length, 'photo')} already sent cannot be changed.</p> : null}
          <BodySitePicker value={draft.bodySiteCode} onChange={(v) => set('bodySiteCode', v)} required={required('bodySiteCode')} />
          {isLateralSite(draft.bodySiteCode) ? (
            <fieldset className="field">
              <legend className="field-label">{label('laterality')}</legend>
              <Segmented name="laterality" options={LATERALITIES} value={draft.laterality} onChange={(l) => set('laterality', l)} />
            </fieldset>
          ) : null}
          <div className="field-row">
            <CodedSelect label={label('view')} value={draft.view} empty="Not set" codes={VIEWS} onChange={(v) => set('view', v)} />
            <CodedSelect label={label('imageType')} value={draft.imageType} empty="Not set" codes={IMAGE_TYPES} onChange={(v) => set('imageType', v)} />
          </div>
          <CodedSelect label={label('consent')} value={draft.consent} empty="Not recorded" codes={CONSENTS} onChange={(v) => set('consent', v)} testId="consent-select" />
          <label className="field">
            <span className="field-label">{label('caption')}</span>
            <textarea
              rows={2}
              maxLength={LIMITS.maxCaptionChars}
              value={draft.caption === MIXED ? '' : draft.caption}
              placeholder={draft.caption === MIXED ? 'Mixed — type to replace on all selected' : 'e.g. Day 5 after excision'}
              onChange={(e) => set('caption', e.target.value)}
            />
          </label>
          <div className="button-row">
            <button type="button" className="button button-primary" disabled={!hasChanges || busy} onClick={() => void apply(false)}>
              Apply to selected ({editable.length})
            </button>
            <button type="button" className="button" disabled={!hasChanges || busy || applyAllCount === 0} onClick={() => void apply(true)}>
              Apply to all ({applyAllCount})
            </button>
          </div>
        </>
      )}
    </section>
  );
}
/** Whose photos these are, when they are not the patient on screen (a selection never mixes patients). */
function OwnerNote({ images }: { images: readonly ImageView[] }) {
  const first = images[0];
  if (first === undefined || first.isWorkingPatient) return null;
  return (
    <p className="details-owner" data-testid="details-owner">
      Belongs to <strong>{formatPatientName(first.patient)}</strong> (NHI {first.patient.nhi}) — not the patient on screen.
    </p>
  );
}

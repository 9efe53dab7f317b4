import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { PendingLookupView } from '../../../../shared/contracts/bridge';
import { AppError } from '../../../../shared/errors/app-error';
import { formatDob, formatPatientName, formatSex } from '../../../common/format';
import { cleanNhi, lookupErrorText, nhiProblem, type LookupErrorText } from '../logic/lookup';
import type { Companion } from '../useCompanion';
import { Facts } from './Banner';
import { Dialog } from './Dialog';

const ENDED: LookupErrorText = {
  message: 'That patient search has ended: a launch from Medtech Evolution came in, or it expired.',
  hint: 'Find the patient again if you still need to.',
};

function asErrorText(err: unknown, nhi: string): LookupErrorText | null {
  const e = err instanceof AppError ? err : new AppError('ERR_INTERNAL');
  // Cancelled (Esc, "No, go back", or a launch that came in meanwhile): not an error.
  if (e.code === 'ERR_REQUEST_CANCELLED') return null;
  return lookupErrorText(e.toBody(), nhi);
}

/**
 * "Find patient by NHI", the fallback when the GP cannot launch from Medtech Evolution: type the NHI (checked as you
 * go), then "Is this the patient in front of you?". Only "Yes, this patient" makes it the working patient; every
 * other way out forgets it. On the question the safe choice ("No, go back") has the focus.
 */
export function FindPatientDialog({ companion, pending, now, onClose }: { companion: Companion; pending: PendingLookupView | undefined; now: Date; onClose: () => void }) {
  const [nhi, setNhi] = useState('');
  const [checked, setChecked] = useState(false);
  const [busy, setBusy] = useState<'search' | 'confirm' | null>(null);
  const [error, setError] = useState<LookupErrorText | null>(null);
  // The candidate this dialog found (or the one already waiting when it opened).
  const [candidate, setCandidate] = useState<PendingLookupView | null>(pending ?? null);
  const seenInState = useRef(pending !== undefined);
  // The lookup open in the core ('searching' while one runs); null once confirmed or dropped.
  const open = useRef<string | null>(pending?.lookupId ?? null);
  const input = useRef<HTMLInputElement>(null);
  const noButton = useRef<HTMLButtonElement>(null);
  const ids = { form: useId(), problem: useId(), question: useId(), details: useId() };

  const problem = nhiProblem(nhi);
  const showProblem = checked || cleanNhi(nhi).length >= 7;
  const drop = (why: LookupErrorText | null): void => {
    open.current = null;
    setCandidate(null);
    setError(why);
  };

  // The candidate is the core's: if it leaves the state (a launch came in, it expired), the question goes too.
  useEffect(() => {
    if (candidate === null) return;
    if (Date.parse(candidate.expiresAt) <= now.getTime()) return drop(ENDED);
    if (pending?.lookupId === candidate.lookupId) seenInState.current = true;
    else if (seenInState.current) drop(ENDED);
  }, [pending, candidate, now]);

  useEffect(() => {
    if (candidate !== null) noButton.current?.focus();
    else input.current?.focus();
  }, [candidate === null]);

  // Leaving the dialog any other way than "Yes, this patient" forgets the candidate (and stops a running search).
  useEffect(
    () => () => {
      if (open.current !== null) void companion.api.patient.cancelLookup().catch(() => undefined);
    },
    [companion.api],
  );

  const find = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (busy) return;
    setChecked(true);
    if (problem !== null) return input.current?.focus();
    setBusy('search');
    setError(null);
    open.current = 'searching';
    try {
      const found = await companion.api.patient.lookup({ nhi: cleanNhi(nhi) });
      open.current = found.lookupId;
      seenInState.current = false;
      setCandidate(found);
    } catch (err) {
      drop(asErrorText(err, nhi));
    } finally {
      setBusy(null);
    }
  };

  const confirm = async (): Promise<void> => {
    if (candidate === null || busy) return;
    setBusy('confirm');
    try {
      await companion.api.patient.confirm({ lookupId: candidate.lookupId });
      open.current = null;
      onClose();
    } catch (err) {
      drop(asErrorText(err, candidate.patient.nhi));
      setBusy(null);
    }
  };

  const p = candidate?.patient;
  return (
    <Dialog
      title="Find patient by NHI"
      onClose={onClose}
      size="small"
      className="find-patient"
      cancel={!p}
      actions={
        p ? (
          <>
            <button
              type="button"
              ref={noButton}
              className="button"
              onClick={() => {
                drop(null);
                void companion.api.patient.cancelLookup().catch(() => undefined);
              }}
              disabled={busy !== null}
            >
              No, go back
            </button>
            <button type="button" className="button button-commit" onClick={() => void confirm()} disabled={busy !== null} data-testid="lookup-yes">
              {busy === 'confirm' ? 'Opening…' : 'Yes, this patient'}
            </button>
          </>
        ) : (
          <button type="submit" form={ids.form} className="button button-primary" disabled={busy !== null} data-testid="lookup-find">
            {busy === 'search' ? 'Looking up…' : 'Find patient'}
          </button>
        )
      }
    >
      {p ? (
        <div className="lookup-confirm" role="group" aria-labelledby={ids.question} aria-describedby={ids.details} data-testid="lookup-confirm">
          <h3 id={ids.question} className="lookup-question">
            Is this the patient in front of you?
          </h3>
          <Facts
            id={ids.details}
            className="lookup-facts"
            rows={[
              ['Name', formatPatientName(p), 'lookup-name'],
              ['NHI', p.nhi, 'mono'],
              ['Date of birth (age)', formatDob(p.birthDate, now)],
              ['Sex', formatSex(p.sex)],
            ]}
          />
          <p className="muted small">Found in Medtech by NHI, not handed over by Evolution. Check the name and date of birth with the patient before you add any photos.</p>
        </div>
      ) : (
        <form id={ids.form} onSubmit={(e) => void find(e)} noValidate aria-label="Find patient by NHI">
          <p className="muted">Use this when the ClinicPro Images button in Medtech Evolution cannot be used. You will be asked to confirm the patient.</p>
          <label className="field">
            <span className="field-label">NHI number</span>
            <input
              ref={input}
              className="mono nhi-input"
              value={nhi}
              onChange={(e) => {
                setNhi(e.target.value);
                setError(null);
              }}
              onBlur={() => nhi.trim() !== '' && setChecked(true)}
              placeholder="ABC1234"
              autoComplete="off"
              autoCapitalize="characters"
              spellCheck={false}
              maxLength={20}
              aria-invalid={showProblem && problem !== null}
              aria-describedby={ids.problem}
              data-autofocus
            />
          </label>
          <div id={ids.problem} className="field-problem" data-testid="nhi-problem">
            {showProblem && problem !== null ? problem : null}
          </div>
          <div role="alert" className="form-error" data-testid="lookup-error">
            {error ? (
              <>
                {error.message}
                {error.hint ? <span className="form-error-hint"> {error.hint}</span> : null}
                {error.reference ? <span className="muted small"> {error.reference}</span> : null}
              </>
            ) : null}
          </div>
          {busy === 'search' ? (
            <p className="muted" role="status">
              <span className="spinner spinner-small" aria-hidden="true" /> Looking up the patient in Medtech…
            </p>
          ) : null}
        </form>
      )}
    </Dialog>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { plural } from '../../../common/format';
import { errorText, type Companion } from '../useCompanion';

/**
 * First run, and enrolling again: gateway address, one-time enrolment code and a name for this PC. When the
 * enrolment ended it says why first; the `waiting` photos stay on this PC and go once it is enrolled again.
 * `onCancel`: opened from Settings on a working PC, it can go back without enrolling.
 */
export function EnrolmentScreen({ companion, waiting, onCancel, onDone }: { companion: Companion; waiting: number; onCancel: (() => void) | undefined; onDone: () => void }) {
  const enrolment = companion.state?.enrolment;
  const defaultGatewayUrl = companion.settings?.gatewayUrl ?? '';
  const renewal = enrolment?.renewal;
  const again = renewal !== undefined || onCancel !== undefined;
  const [gatewayUrl, setGatewayUrl] = useState(defaultGatewayUrl);
  const [code, setCode] = useState('');
  const [deviceName, setDeviceName] = useState(again ? (enrolment?.deviceName ?? '') : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ message: string; detail?: string; field?: string } | null>(null);
  // The stored gateway address arrives with the settings, possibly after the first render.
  useEffect(() => {
    if (defaultGatewayUrl) setGatewayUrl((cur) => cur || defaultGatewayUrl);
  }, [defaultGatewayUrl]);

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const url = gatewayUrl.trim();
    if (!/^https?:\/\/\S+$/.test(url) || url.length < 8) {
      return setError({ message: 'Enter the gateway address your practice IT contact gave you, starting with https://', field: 'gateway' });
    }
    if (code.trim().length < 4) return setError({ message: 'Enter the enrolment code (at least 4 characters).', field: 'code' });
    if (!deviceName.trim()) return setError({ message: 'Give this PC a name, for example "Consult room 3".', field: 'name' });
    setBusy(true);
    setError(null);
    try {
      await companion.api.enrolment.enrol({ gatewayUrl: url, enrolmentCode: code.trim(), deviceName: deviceName.trim().slice(0, 100) });
      onDone();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centre-screen">
      <form className="card enrol-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="enrol-title">
        <h1 id="enrol-title">{again ? 'Enrol this PC again' : 'Set up this PC'}</h1>
        {renewal ? (
          <p className="enrol-reason" role="status" data-testid="enrol-reason">
            {renewal.message}
          </p>
        ) : again ? (
          <p className="muted">
            Enter a new enrolment code from your practice&apos;s ClinicPro administrator. This PC stays enrolled
            {enrolment?.practiceName ? ` with ${enrolment.practiceName}` : ''} until the new code is accepted.
          </p>
        ) : (
          <p className="muted">ClinicPro Images needs to be enrolled once, with the code from your practice IT contact.</p>
        )}
        {again && waiting > 0 ? (
          <p className="muted small" data-testid="enrol-waiting">
            {plural(waiting, 'photo', 'photos')} waiting to be sent {waiting === 1 ? 'stays' : 'stay'} on this PC and {waiting === 1 ? 'is' : 'are'} sent once it is enrolled
            again{enrolment?.practiceName ? ` for ${enrolment.practiceName}` : ''}.
          </p>
        ) : null}
        <label className="field">
          <span className="field-label">Gateway address</span>
          <input
            type="url"
            value={gatewayUrl}
            onChange={(e) => setGatewayUrl(e.target.value)}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={error?.field === 'gateway'}
            required
          />
        </label>
        <label className="field">
          <span className="field-label">Enrolment code</span>
          <span className="field-hint muted small" id="enrol-code-hint">
            12 letters and digits in three groups, e.g. K7QD-9XWP-M3TA (dashes, spaces and lower case are fine)
          </span>
          <input
            aria-describedby="enrol-code-hint"
            placeholder="XXXX-XXXX-XXXX"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="one-time-code"
            spellCheck={false}
            data-autofocus
            aria-invalid={error?.field === 'code'}
            required
          />
        </label>
        <label className="field">
          <span className="field-label">Name for this PC</span>
          <input
            value={deviceName}
            onChange={(e) => setDeviceName(e.target.value)}
            placeholder="Consult room 3"
            maxLength={100}
            aria-invalid={error?.field === 'name'}
            required
          />
        </label>
        <div role="alert" className="form-error" aria-live="assertive">
          {error ? (
            <>
              {error.message}
              {error.detail ? <span className="muted small"> {error.detail}</span> : null}
            </>
          ) : null}
        </div>
        <button type="submit" className="button button-primary button-large" disabled={busy}>
          {busy ? 'Enrolling…' : 'Enrol this PC'}
        </button>
        {onCancel ? (
          <button type="button" className="button button-ghost" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
        ) : null}
      </form>
    </main>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import type { Companion } from '../useCompanion';
import { errorText } from '../useCompanion';

/** First run: gateway address, one-time enrolment code and a name for this PC. */
export function EnrolmentScreen({ companion, defaultGatewayUrl }: { companion: Companion; defaultGatewayUrl: string }) {
  const [gatewayUrl, setGatewayUrl] = useState(defaultGatewayUrl);
  const [code, setCode] = useState('');
  const [deviceName, setDeviceName] = useState('');
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
      setError({ message: 'Enter the gateway address your practice IT contact gave you, starting with https://', field: 'gateway' });
      return;
    }
    if (code.trim().length < 4) {
      setError({ message: 'Enter the enrolment code (at least 4 characters).', field: 'code' });
      return;
    }
    if (!deviceName.trim()) {
      setError({ message: 'Give this PC a name, for example "Consult room 3".', field: 'name' });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await companion.api.enrolment.enrol({ gatewayUrl: url, enrolmentCode: code.trim(), deviceName: deviceName.trim().slice(0, 100) });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="centre-screen">
      <form className="card enrol-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="enrol-title">
        <h1 id="enrol-title">Set up this PC</h1>
        <p className="muted">ClinicPro Images needs to be enrolled once, with the code from your practice IT contact.</p>
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
          <input
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
      </form>
    </main>
  );
}

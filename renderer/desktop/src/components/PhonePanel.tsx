import type { PhoneView } from '../../../../shared/contracts/bridge';
import { bytesToBase64 } from '../../../common/files';
import { formatCountdown, plural } from '../../../common/format';
import { qrImageSource } from '../logic/qr';
import type { Companion } from '../useCompanion';
import { useNow } from '../useNow';

export function PhonePanel({ companion, phone, patientName, onClose }: { companion: Companion; phone: PhoneView; patientName: string; onClose: () => void }) {
  // Display only: the expiry itself is the core's job.
  const left = Date.parse(phone.expiresAt) - useNow();
  const src = qrImageSource(phone, (t) => bytesToBase64(new TextEncoder().encode(t)));
  const expired = left <= 0;
  return (
    <section className="panel phone-panel" aria-label="Phone upload" data-testid="phone-panel">
      <header className="panel-header">
        <h2>Photos from a phone</h2>
        <button type="button" className="icon-button" aria-label="Hide phone panel" onClick={onClose}>
          <span aria-hidden="true">✕</span>
        </button>
      </header>
      <p className="small">
        Scan with the phone camera, on the practice Wi-Fi. Photos go to <strong>{patientName}</strong>.
      </p>
      {phone.network !== undefined && phone.network.length > 0 ? (
        <div className="network-findings" role="alert" data-testid="network-findings">
          <p className="network-findings-title">A phone may not be able to reach this PC:</p>
          <ul>
            {phone.network.map((f) => (
              <li key={f.code}>
                <strong>{f.title}</strong> {f.fix}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className={`qr-box${expired ? ' is-expired' : ''}`}>
        {src ? <img src={src} alt="QR code for uploading photos from a phone" width={220} height={220} data-testid="phone-qr" /> : <p>The QR code could not be shown.</p>}
        {expired ? <div className="qr-expired">Code expired — make a new one</div> : null}
      </div>
      <p className="qr-url mono small" title="The address in the QR code">
        {phone.qrUrl}
      </p>
      <p className="phone-status">
        {expired ? 'This code has expired.' : `Code valid for ${formatCountdown(left)}`}
        {' · '}
        <span data-testid="phones-joined" aria-live="polite">{plural(phone.phonesJoined, 'phone')} joined</span>
      </p>
      <div className="button-row">
        <button type="button" className="button" onClick={() => void companion.run((api) => api.phone.regenerate())}>
          New code
        </button>
        <button type="button" className="button button-danger-quiet" onClick={() => void companion.run((api) => api.phone.end())}>
          End phone session
        </button>
      </div>
    </section>
  );
}

/** An image Medtech has not confirmed, on its card and in Details (words: logic/medtech-check.ts). */
import { useState } from 'react';
import type { ImageView } from '../../../../shared/contracts/bridge';
import { formatPatientName } from '../../../common/format';
import { isWaitingForMedtech, sendAgainWarning, unconfirmedText, waitingForMedtechText } from '../logic/medtech-check';
import type { Companion } from '../useCompanion';
import { useNow } from '../useNow';
import { ConfirmDialog } from './Dialog';

function WaitingForMedtech({ image }: { image: ImageView }) {
  const now = useNow();
  return (
    <div className="image-wait" data-testid="medtech-waiting" role="status">
      {waitingForMedtechText(image, now)}
    </div>
  );
}

/** "It is in Medtech" and "Send again" (which asks first and says what it risks). */
function UnconfirmedActions({ image, companion, tabIndex }: { image: ImageView; companion: Companion; tabIndex: number | undefined }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const act = async (what: 'confirmArrived' | 'sendAgain'): Promise<void> => {
    setBusy(true);
    await companion.run((api) => api.images[what]({ id: image.id }));
    setBusy(false);
  };
  return (
    <div className="medtech-check" data-testid="medtech-unconfirmed">
      <div className="image-wait" role="status">
        {unconfirmedText(image)}
      </div>
      <div className="button-row">
        <button
          type="button"
          tabIndex={tabIndex}
          className="button button-small button-primary"
          disabled={busy}
          aria-label={`${image.label} is in Medtech`}
          onClick={() => void act('confirmArrived')}
        >
          It is in Medtech
        </button>
        <button type="button" tabIndex={tabIndex} className="button button-small" disabled={busy} aria-label={`Send ${image.label} again`} onClick={() => setAsking(true)}>
          Send again
        </button>
      </div>
      {asking ? (
        <ConfirmDialog
          title="Send this photo again?"
          message={sendAgainWarning(image, formatPatientName(image.patient))}
          confirmLabel="Send again"
          onCancel={() => setAsking(false)}
          onConfirm={() => {
            setAsking(false);
            void act('sendAgain');
          }}
        />
      ) : null}
    </div>
  );
}

/** What the card or the Details panel shows for this state; nothing for any other image. */
export function MedtechCheck({ image, companion, tabIndex }: { image: ImageView; companion: Companion; tabIndex?: number }) {
  if (isWaitingForMedtech(image)) return <WaitingForMedtech image={image} />;
  return image.status === 'unconfirmed' ? <UnconfirmedActions image={image} companion={companion} tabIndex={tabIndex} /> : null;
}

/** The card's "in Medtech ✓" tag: read back by the gateway, or checked in Medtech by a person. */
export function InMedtechTag({ image }: { image: ImageView }) {
  if (image.committed?.confirmedBy === 'person') return <span className="source-tag source-ok">in Medtech ✓ (checked by a person)</span>;
  if (image.committed?.verified) return <span className="source-tag source-ok">in Medtech ✓</span>;
  return null;
}

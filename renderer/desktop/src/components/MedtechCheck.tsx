/**
 * An image Medtech has not confirmed, on its card and in the Details panel:
 *   waiting for Medtech  "Sent to Medtech — waiting for Medtech to confirm (next check in N s)", counting down
 *   unconfirmed          the plain message (patient, photo), "It is in Medtech" and "Send again" (with a confirm
 *                        step that says what it risks)
 *   confirmed by a person "in Medtech ✓ (checked by a person)"
 */
import { useEffect, useState } from 'react';
import type { CompanionApi, ImageView } from '../../../../shared/contracts/bridge';
import { formatPatientName } from '../../../common/format';
import { isWaitingForMedtech, sendAgainWarning, unconfirmedText, waitingForMedtechText } from '../logic/medtech-check';
import { ConfirmDialog } from './Dialog';

/** The two answers a person gives (App passes them, through the companion's `run`). */
export interface MedtechActions {
  confirmArrived(id: string): Promise<unknown>;
  sendAgain(id: string): Promise<unknown>;
}

export function medtechActions(run: <T>(fn: (api: CompanionApi) => Promise<T>) => Promise<T | undefined>): MedtechActions {
  return {
    confirmArrived: (id) => run((api) => api.images.confirmArrived({ id })),
    sendAgain: (id) => run((api) => api.images.sendAgain({ id })),
  };
}

/** Re-renders every second while mounted (for "next check in N s"). */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return now;
}

function WaitingForMedtech({ image }: { image: ImageView }) {
  const now = useNow();
  return (
    <div className="image-wait" data-testid="medtech-waiting" role="status">
      {waitingForMedtechText(image, now)}
    </div>
  );
}

function UnconfirmedActions({ image, actions, tabIndex }: { image: ImageView; actions: MedtechActions; tabIndex?: number }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
    }
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
          onClick={() => void act(() => actions.confirmArrived(image.id))}
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
            void act(() => actions.sendAgain(image.id));
          }}
        />
      ) : null}
    </div>
  );
}

/** What the card or the Details panel shows for this state; nothing for any other image. */
export function MedtechCheck({ image, actions, tabIndex }: { image: ImageView; actions: MedtechActions | undefined; tabIndex?: number }) {
  if (isWaitingForMedtech(image)) return <WaitingForMedtech image={image} />;
  if (image.status === 'unconfirmed') {
    if (actions === undefined) return <div className="image-wait">{unconfirmedText(image)}</div>;
    return <UnconfirmedActions image={image} actions={actions} {...(tabIndex === undefined ? {} : { tabIndex })} />;
  }
  return null;
}

/** The card's "in Medtech ✓" tag: read back by the gateway, or checked in Medtech by a person. */
export function InMedtechTag({ image }: { image: ImageView }) {
  if (image.committed?.confirmedBy === 'person') return <span className="source-tag source-ok">in Medtech ✓ (checked by a person)</span>;
  if (image.committed?.verified) return <span className="source-tag source-ok">in Medtech ✓</span>;
  return null;
}

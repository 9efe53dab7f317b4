/**
 * The photo's name as it goes into the outbox and on to Medtech's title: the name shown on the phone and the
 * desktop card ("Photo 2", or the desktop file's name), made plain and short enough for the gateway contract.
 */
import { photoLabelForWire } from '../../shared/photo-label';

/** `{ label }` for an outbox item, or nothing when no readable name is left. */
export function photoLabelField(label: string): { label?: string } {
  const wire = photoLabelForWire(label);
  return wire === undefined ? {} : { label: wire };
}

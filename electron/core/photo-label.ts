/** The photo's name ("Photo 2", or the file's name) made fit for the outbox and Medtech's title. */
import { photoLabelForWire } from '../../shared/photo-label';

/** Nothing when no readable name is left. */
export function photoLabelField(label: string): { label?: string } {
  const wire = photoLabelForWire(label);
  return wire === undefined ? {} : { label: wire };
}

/** The FHIR builders the commit service uses (gateway/src/fhir/builders.ts), as an injectable seam. */
import type { buildDocumentReference, buildMedia } from '../fhir/builders';

export interface ResourceBuilders {
  buildMedia: typeof buildMedia;
  buildDocumentReference: typeof buildDocumentReference;
}

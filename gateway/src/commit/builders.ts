/** The FHIR builders the commit service uses (gateway/src/fhir/builders.ts), as an injectable seam. */
import type { DocumentPayload, MediaPayload } from '../../../shared/contracts/gateway';
import type { FhirResource } from '../alex/types';
import type { BuildContext } from '../fhir/builders';

export type CommitBuildContext = BuildContext;

export interface ResourceBuilders {
  buildMedia(ctx: CommitBuildContext, payload: MediaPayload): FhirResource;
  buildDocumentReference(ctx: CommitBuildContext, payload: DocumentPayload): FhirResource;
}

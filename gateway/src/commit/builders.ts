/** The FHIR builders the commit service uses (gateway/src/fhir/builders.ts), as an injectable seam. */
import type { ImageMetadata, PatientSummary } from '../../../shared/contracts/common';
import type { DocumentPayload, MediaPayload } from '../../../shared/contracts/gateway';
import type { FhirResource } from '../alex/types';

export interface CommitBuildContext {
  imageId: string;
  patient: PatientSummary;
  facilityId: string;
  providerId?: string | null;
  capturedAt: string;
  metadata: ImageMetadata;
  device: { id: string; name: string };
  alexFhirBaseUrl: string;
}

export interface ResourceBuilders {
  buildMedia(ctx: CommitBuildContext, payload: MediaPayload): FhirResource;
  buildDocumentReference(ctx: CommitBuildContext, payload: DocumentPayload): FhirResource;
}

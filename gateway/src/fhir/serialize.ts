/** A resource frozen into the bytes ALEX receives, so a commit waiting on ALEX holds its image once. */
import type { FhirResource } from '../alex/types';

/** The first identifier of a resource (the image id for what the gateway creates), or null. */
function firstIdentifier(resource: FhirResource): { system: string; value: string } | null {
  const list = resource.identifier;
  const first: unknown = Array.isArray(list) ? list[0] : null;
  if (first !== null && typeof first === 'object') {
    const { system, value } = first as Record<string, unknown>;
    if (typeof system === 'string' && typeof value === 'string') return { system, value };
  }
  return null;
}

export class SerializedResource {
  private constructor(
    readonly resourceType: string,
    readonly identifier: { system: string; value: string } | null,
    /** The bytes to send. */
    readonly json: Buffer,
  ) {}

  static of(resource: FhirResource): SerializedResource {
    return new SerializedResource(resource.resourceType, firstIdentifier(resource), Buffer.from(JSON.stringify(resource)));
  }

  /** The resource again, as a new object (for validation). */
  parse(): FhirResource {
    return JSON.parse(this.json.toString('utf8')) as FhirResource;
  }
}

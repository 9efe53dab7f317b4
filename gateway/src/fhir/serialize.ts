/** A resource frozen into the bytes ALEX receives, so a commit waiting on ALEX holds its image once. */
import type { FhirResource } from '../alex/types';
import { base64Size } from '../base64';

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

  /** Attachment base64 (nothing in it JSON escapes) is copied in as bytes: the image is not scanned and re-encoded as UTF-8. */
  static of(resource: FhirResource): SerializedResource {
    const images: string[] = [];
    const text = JSON.stringify(resource, (key, v: unknown) => (key === 'data' && typeof v === 'string' && base64Size(v) !== null ? (images.push(v), '') : v));
    const [head = '', ...tails] = text.split('"data":""');
    const chunks = [Buffer.from(head)];
    tails.forEach((tail, i) => chunks.push(Buffer.from('"data":"'), Buffer.from(images[i] ?? '', 'latin1'), Buffer.from(`"${tail}`)));
    const json = tails.length === images.length ? Buffer.concat(chunks) : Buffer.from(JSON.stringify(resource));
    return new SerializedResource(resource.resourceType, firstIdentifier(resource), json);
  }

  /** The resource again, as a new object (for validation). */
  parse(): FhirResource {
    return JSON.parse(this.json.toString('utf8')) as FhirResource;
  }
}

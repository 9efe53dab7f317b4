import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FhirResource } from '../alex/types';
import { SerializedResource } from './serialize';

const image = randomBytes(3000).toString('base64');
const media = (data: string, title: string): FhirResource => ({
  resourceType: 'Media',
  identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:uuid:3f1c2b7e-8a4d-4c1e-9b2a-6d5e4f3a2b1c' }],
  content: { contentType: 'image/jpeg', data, title },
});

describe('SerializedResource.of', () => {
  it('sends exactly the JSON of the resource, attachment and non-ASCII text included', () => {
    const docRef: FhirResource = { resourceType: 'DocumentReference', content: [{ attachment: { contentType: 'application/pdf', data: image, title: 'Tūī "left" \\ arm' } }] };
    for (const r of [media(image, 'Māori: kōrero "quoted"\n'), docRef]) expect(SerializedResource.of(r).json.equals(Buffer.from(JSON.stringify(r)))).toBe(true);
  });

  it('stays exact when the data is not base64 or a text carries the same characters as an empty data field', () => {
    for (const r of [media('not "base64"', 'x'), media('', '"data":""'), media(image, '"data":""')]) {
      expect(SerializedResource.of(r).json.toString('utf8')).toBe(JSON.stringify(r));
    }
  });

  it('keeps the first identifier and the resource type', () => {
    const s = SerializedResource.of(media(image, 't'));
    expect([s.resourceType, s.identifier?.value]).toEqual(['Media', 'urn:uuid:3f1c2b7e-8a4d-4c1e-9b2a-6d5e4f3a2b1c']);
  });
});

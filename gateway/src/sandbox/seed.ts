/**
 * Fixed, non-secret sandbox values, seed data and its FHIR form. Every NHI here is a Z-prefixed test NHI with a
 * valid check digit (seed.test.ts proves it). Ids are 32-hex strings, the shape ALEX uses for resource ids.
 */
import { NHI_SYSTEM } from '../../../shared/nhi';
import type { SandboxCredentials, SandboxPatient, SandboxPractitioner } from './types';

type Resource = Record<string, unknown> & { resourceType: string; id: string };

export const DEFAULT_TENANT_ID = '0b5a1c4e-5a9d-4c3e-8f21-5a0d00c0ffee';
export const DEFAULT_APP_GUID = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

/** Sandbox client credentials: public on purpose, they open nothing but the sandbox. */
export const DEFAULT_CREDENTIALS: SandboxCredentials = {
  clientId: '3c9d7e21-8b4a-4f0e-9d6c-5a1b2c3d4e5f',
  clientSecret: 'sandbox-client-secret-not-a-real-secret',
  scope: `api://${DEFAULT_APP_GUID}/.default`,
};

/** F2N060-E: Medtech's hosted UAT facility. F99669-C: a practice's own Evolution behind a Hybrid Connection. */
export const DEFAULT_FACILITIES: readonly string[] = ['F2N060-E', 'F99669-C'];

export const SEED_PATIENTS: readonly SandboxPatient[] = [
  { id: '14e52e16edb7a435bfa05e307afd008b', nhi: 'ZZZ0016', familyName: 'Testpatient', givenName: 'Aroha', birthDate: '1985-03-14', sex: 'female' },
  { id: '2a7f0c91d3b84e6fa1c5e8d2b4f60a13', nhi: 'ZZZ0024', familyName: 'Testpatient', givenName: 'Wiremu', birthDate: '1958-11-02', sex: 'male' },
  { id: '3b8e1da2e4c95f70b2d6f9e3c5071b24', nhi: 'ZZZ0032', familyName: 'Sample', givenName: 'Mere', birthDate: '2019-07-30', sex: 'female' },
  { id: '4c9f2eb3f5da6081c3e70af4d6182c35', nhi: 'ZAA10AX', familyName: 'Testperson', givenName: 'Sam', birthDate: '1990-01-01', sex: 'other' },
  // Only in the hosted UAT facility: a patient the other practice does not hold.
  { id: '5da03fc406eb7192d4f81b05e7293d46', nhi: 'ZZZ0040', familyName: 'Testpatient', givenName: 'Canary', birthDate: '1961-05-21', sex: 'unknown', facilities: ['F2N060-E'] },
];

export const SEED_PRACTITIONERS: readonly SandboxPractitioner[] = [
  { id: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', familyName: 'Testdoctor', givenName: 'Hana', hpiPersonId: '99ZZZA' },
  { id: 'b2c3d4e5f60718293a4b5c6d7e8f90a1', familyName: 'Testnurse', givenName: 'Tama', hpiPersonId: '99ZZZB' },
];

/** Absolute bases ALEX takes in references (UAT, production, and the test host of Medtech's own examples). */
export const ALEX_ABSOLUTE_BASES: readonly string[] = [
  'https://alexapiuat.medtechglobal.com/fhir',
  'https://alexapi.medtechglobal.com/fhir',
  'https://alexapitest.medtechglobal.com/fhir',
];

const HPI_PERSON_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-person-id';
const HPI_FACILITY_SYSTEM = 'https://standards.digital.health.nz/ns/hpi-facility-id';

export function patientResource(p: SandboxPatient): Resource {
  return {
    resourceType: 'Patient',
    id: p.id,
    identifier: [{ use: 'official', system: NHI_SYSTEM, value: p.nhi }],
    name: [{ use: 'official', family: p.familyName, given: [p.givenName] }],
    gender: p.sex,
    birthDate: p.birthDate,
  };
}

export function practitionerResource(p: SandboxPractitioner): Resource {
  return {
    resourceType: 'Practitioner',
    id: p.id,
    identifier: [{ system: HPI_PERSON_SYSTEM, value: p.hpiPersonId }],
    active: true,
    name: [{ use: 'official', family: p.familyName, given: [p.givenName], prefix: ['Dr'] }],
  };
}

export type SandboxLocation = { id: string; facilityId: string; name: string };

export function locationResource(l: SandboxLocation): Resource {
  return {
    resourceType: 'Location',
    id: l.id,
    identifier: [{ system: HPI_FACILITY_SYSTEM, value: l.facilityId }],
    status: 'active',
    name: l.name,
  };
}

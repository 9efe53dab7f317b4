/** Fault injection: rules that make the sandbox answer like a sick ALEX (or Azure AD). */
import { AppError } from '../../../shared/errors';
import { FAULT_KINDS, type ActiveFaultRule, type FaultController, type FaultKind, type FaultRule } from './types';

/** Where a rule without `pathPrefix` applies: ALEX only, not the token endpoint. */
export const DEFAULT_FAULT_PATH_PREFIX = '/FHIR';

const RULE_KEYS = new Set(['kind', 'method', 'pathPrefix', 'facilityId', 'times', 'probability', 'latencyMs', 'retryAfterSeconds', 'when', 'storeAfterMs', 'answerAfterMs']);

function invalid(detail: string): AppError {
  return new AppError('ERR_REQUEST_INVALID', { detail: `Fault rule: ${detail}` });
}

function optionalString(value: unknown, name: string, max = 300): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(`${name} must be a non-empty string`);
  return value;
}

function optionalNumber(value: unknown, name: string, min: number, max: number, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw invalid(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

/** Validate an untrusted rule (HTTP, env, code). Throws AppError ERR_REQUEST_INVALID with a detail. */
export function parseFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('expected an object');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) throw invalid(`unknown field ${key}`);
  if (typeof raw.kind !== 'string' || !FAULT_KINDS.includes(raw.kind as FaultKind)) throw invalid(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  const rule: FaultRule = { kind: raw.kind as FaultKind };
  const method = optionalString(raw.method, 'method', 10);
  if (method !== undefined) rule.method = method.toUpperCase();
  const pathPrefix = optionalString(raw.pathPrefix, 'pathPrefix');
  if (pathPrefix !== undefined) {
    if (!pathPrefix.startsWith('/')) throw invalid('pathPrefix must start with /');
    rule.pathPrefix = pathPrefix;
  }
  const facilityId = optionalString(raw.facilityId, 'facilityId', 50);
  if (facilityId !== undefined) rule.facilityId = facilityId;
  const times = optionalNumber(raw.times, 'times', 1, 1_000_000, true);
  if (times !== undefined) rule.times = times;
  const probability = optionalNumber(raw.probability, 'probability', 0, 1, false);
  if (probability !== undefined) rule.probability = probability;
  const latencyMs = optionalNumber(raw.latencyMs, 'latencyMs', 0, 600_000, true);
  if (latencyMs !== undefined) rule.latencyMs = latencyMs;
  const retryAfterSeconds = optionalNumber(raw.retryAfterSeconds, 'retryAfterSeconds', 0, 86_400, true);
  if (retryAfterSeconds !== undefined) rule.retryAfterSeconds = retryAfterSeconds;
  const storeAfterMs = optionalNumber(raw.storeAfterMs, 'storeAfterMs', 0, 86_400_000, true);
  if (storeAfterMs !== undefined) rule.storeAfterMs = storeAfterMs;
  const answerAfterMs = optionalNumber(raw.answerAfterMs, 'answerAfterMs', 0, 86_400_000, true);
  if (answerAfterMs !== undefined) {
    if (answerAfterMs < (storeAfterMs ?? 0)) throw invalid('answerAfterMs must not be less than storeAfterMs');
    rule.answerAfterMs = answerAfterMs;
  }
  if (raw.when !== undefined) {
    if (raw.when !== 'before' && raw.when !== 'after') throw invalid('when must be before or after');
    rule.when = raw.when;
  }
  return rule;
}

/** Parse `SANDBOX_FAULTS`-style JSON: one rule or an array of rules. */
export function parseFaultRules(json: string): FaultRule[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw invalid('not valid JSON');
  }
  return (Array.isArray(parsed) ? parsed : [parsed]).map(parseFaultRule);
}

export interface FaultRequest {
  method: string;
  /** Path without query. */
  path: string;
  facilityId: string | null;
}

export interface FaultEngine extends FaultController {
  /**
   * The rules that fire for this request, in order: any number of `latency` rules, then at most one
   * terminal rule. Counts applications and retires spent rules.
   */
  take(request: FaultRequest): ActiveFaultRule[];
}

export function createFaultEngine(random: () => number, newId: () => string): FaultEngine {
  let rules: ActiveFaultRule[] = [];

  const matches = (rule: ActiveFaultRule, req: FaultRequest): boolean => {
    if (rule.method !== undefined && rule.method !== req.method.toUpperCase()) return false;
    if (!req.path.startsWith(rule.pathPrefix ?? DEFAULT_FAULT_PATH_PREFIX)) return false;
    if (rule.facilityId !== undefined && rule.facilityId !== req.facilityId) return false;
    return true;
  };

  return {
    add(rule) {
      const parsed = parseFaultRule(rule);
      const id = newId();
      rules.push({ ...parsed, id, applied: 0 });
      return id;
    },
    remove(id) {
      const before = rules.length;
      rules = rules.filter((r) => r.id !== id);
      return rules.length !== before;
    },
    clear() {
      rules = [];
    },
    list() {
      return rules.map((r) => ({ ...r }));
    },
    take(req) {
      const fired: ActiveFaultRule[] = [];
      for (const rule of rules) {
        if (!matches(rule, req)) continue;
        if (rule.probability !== undefined && !(random() < rule.probability)) continue;
        rule.applied += 1;
        if (rule.times !== undefined) rule.times -= 1;
        fired.push({ ...rule });
        if (rule.kind !== 'latency') break;
      }
      rules = rules.filter((r) => r.times === undefined || r.times > 0);
      return fired;
    },
  };
}

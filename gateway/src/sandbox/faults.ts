/** Fault injection: rules that make the sandbox answer like a sick ALEX (or Azure AD). */
import { AppError } from '../../../shared/errors';
import { FAULT_KINDS, FAULT_RULE_NUMBERS, FAULT_RULE_STRINGS, type ActiveFaultRule, type FaultController, type FaultKind, type FaultRule } from './types';

/** Where a rule without `pathPrefix` applies: ALEX only, not the token endpoint. */
const DEFAULT_FAULT_PATH_PREFIX = '/FHIR';

const RULE_KEYS = new Set(['kind', 'when', ...Object.keys(FAULT_RULE_STRINGS), ...Object.keys(FAULT_RULE_NUMBERS)]);

function invalid(detail: string): AppError {
  return new AppError('ERR_REQUEST_INVALID', { detail: `Fault rule: ${detail}` });
}

function parseStrings(raw: Record<string, unknown>, rule: FaultRule): void {
  for (const [name, max] of Object.entries(FAULT_RULE_STRINGS) as [keyof typeof FAULT_RULE_STRINGS, number][]) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(`${name} must be a non-empty string`);
    if (name === 'pathPrefix' && !value.startsWith('/')) throw invalid('pathPrefix must start with /');
    rule[name] = name === 'method' ? value.toUpperCase() : value;
  }
}

function parseNumbers(raw: Record<string, unknown>, rule: FaultRule): void {
  for (const [name, [min, max, integer]] of Object.entries(FAULT_RULE_NUMBERS) as [keyof typeof FAULT_RULE_NUMBERS, readonly [number, number, boolean]][]) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw invalid(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    }
    rule[name] = value;
  }
  if (rule.answerAfterMs !== undefined && rule.answerAfterMs < (rule.storeAfterMs ?? 0)) throw invalid('answerAfterMs must not be less than storeAfterMs');
}

/** Validate an untrusted rule (HTTP, env, code). Throws AppError ERR_REQUEST_INVALID with a detail. */
export function parseFaultRule(input: unknown): FaultRule {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('expected an object');
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) throw invalid(`unknown field ${key}`);
  if (typeof raw.kind !== 'string' || !FAULT_KINDS.includes(raw.kind as FaultKind)) throw invalid(`kind must be one of ${FAULT_KINDS.join(', ')}`);
  const rule: FaultRule = { kind: raw.kind as FaultKind };
  parseStrings(raw, rule);
  parseNumbers(raw, rule);
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
  /** Without the query. */
  path: string;
  facilityId: string | null;
}

export interface FaultEngine extends FaultController {
  /** The rules that fire, in order: any number of `latency` rules, then at most one terminal rule. */
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

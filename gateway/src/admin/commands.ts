/** Operator commands, shared by the CLI and its tests, on the same store as the server. */
import { parseArgs } from 'node:util';
import { Auditor } from '../audit';
import { DeviceService } from '../auth/devices';
import type { GatewayConfig } from '../config';
import { uuidV4, type Clock, type Random } from '../deps';
import type { GatewayStore } from '../store/types';

const USAGE = `Usage: npm run gateway:admin -- <command>

  enrol-code --facility <mt-facilityid> --practice "<name>" [--ttl-hours 72]
      Print a one-time enrolment code for a practice PC.
  facilities [--json]
      List the practices (mt-facilityid) known from enrolled devices and issued codes.
  devices list [--facility <mt-facilityid>] [--json]
      List enrolled devices, with whether each is bound to a device key (DPoP): "key" devices prove
      possession on every call; "no key" devices were enrolled before keys and must enrol again
      before GATEWAY_DEVICE_PROOF=required.
  devices revoke <deviceId>
      Revoke a device: its next request gets "removed from ClinicPro Images".
  audit [--device <deviceId>] [--facility <id>] [--outcome <outcome>] [--action <action>]
        [--since <ISO time | 24h | 7d>] [--limit 100] [--json]
      Show audit records, oldest first. --facility/--outcome/--action filter the newest 100000.
      Actions: device.enrol, enrol-code.issue, auth.rejected, launch.verify, launch.lookup,
      launch.confirmed, commit, commit.rejected, commit.replay, device.revoke. Outcomes: e.g. issued,
      enrolled, granted, confirmed, already-confirmed, rejected, committed, deferred, failed, replayed,
      replayed-error, revoked.
`;

export interface AdminDeps {
  store: GatewayStore;
  clock: Clock;
  random: Random;
  config: Pick<GatewayConfig, 'rateLimit'>;
  out: (line: string) => void;
  err: (line: string) => void;
}

const FACILITY_RE = /^[A-Za-z0-9][A-Za-z0-9-]{2,31}$/;
const DEVICE_RE = /^dev_[A-Za-z0-9_-]{22}$/;

function parseSince(value: string, now: number): number | null {
  const rel = /^(\d+)([hd])$/.exec(value);
  if (rel) return now - Number(rel[1]) * (rel[2] === 'h' ? 3_600_000 : 86_400_000);
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : null;
}

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

/** `--json`: the value as indented JSON, exit code 0. */
function printJson(out: (line: string) => void, value: unknown): number {
  out(JSON.stringify(value, null, 2));
  return 0;
}
const WORD_RE = /^[a-z][a-z.-]{1,40}$/;
/** How far back --facility/--outcome/--action look (the store answers the newest N). */
const AUDIT_FILTER_WINDOW = 100_000;

/** Facilities as the store knows them: from devices and from audited enrolment-code issues. */
async function listFacilities(store: GatewayStore) {
  const byId = new Map<string, { facilityId: string; practiceNames: string[]; activeDevices: number; revokedDevices: number; codesIssued: number; lastEnrolledAt: number | null }>();
  const get = (facilityId: string) => {
    const f = byId.get(facilityId) ?? { facilityId, practiceNames: [], activeDevices: 0, revokedDevices: 0, codesIssued: 0, lastEnrolledAt: null };
    byId.set(facilityId, f);
    return f;
  };
  for (const d of await store.listDevices()) {
    const f = get(d.facilityId);
    if (!f.practiceNames.includes(d.practiceName)) f.practiceNames.push(d.practiceName);
    if (d.revokedAt === null) f.activeDevices++;
    else f.revokedDevices++;
    f.lastEnrolledAt = Math.max(f.lastEnrolledAt ?? 0, d.createdAt);
  }
  for (const r of await store.listAudit({ limit: AUDIT_FILTER_WINDOW })) {
    if (r.action === 'enrol-code.issue' && r.facilityId) get(r.facilityId).codesIssued++;
  }
  return [...byId.values()].sort((a, b) => a.facilityId.localeCompare(b.facilityId));
}

/** `usage` prints the message and the usage, and returns 2. */
interface CommandContext extends AdminDeps {
  auditor: Auditor;
  usage: (msg?: string) => number;
}

type Command = (args: string[], ctx: CommandContext) => Promise<number>;

/** The commands by name, and `devices <sub-command>` by sub-command; each returns the exit code. */
const COMMANDS: Record<string, Command> = { 'enrol-code': enrolCode, facilities, audit };
const DEVICE_COMMANDS: Record<string, Command> = { list: devicesList, revoke: devicesRevoke };

/** Runs one command; returns the process exit code (0 ok, 2 usage, 1 failure). */
export async function runAdmin(argv: string[], deps: AdminDeps): Promise<number> {
  const [command, sub, ...rest] = argv;
  const usage = (msg?: string): number => {
    if (msg) deps.err(msg);
    deps.err(USAGE);
    return 2;
  };
  const ctx: CommandContext = { ...deps, auditor: new Auditor(deps.store, deps.clock, deps.random), usage };
  try {
    const device = command === 'devices' && sub !== undefined && Object.hasOwn(DEVICE_COMMANDS, sub) ? DEVICE_COMMANDS[sub] : undefined;
    if (device) return await device(rest, ctx);
    const top = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (top) return await top(argv.slice(1), ctx);
    if (command === undefined || command === 'help' || command === '--help') {
      deps.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    return usage(`Unknown command: ${[command, sub].filter(Boolean).join(' ')}`);
  } catch (e) {
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) return usage(e.message);
    throw e;
  }
}

async function enrolCode(args: string[], { store, clock, random, config, auditor, out, err, usage }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { facility: { type: 'string' }, practice: { type: 'string' }, 'ttl-hours': { type: 'string', default: '72' } },
    strict: true,
  });
  const ttl = Number(values['ttl-hours']);
  if (!values.facility || !FACILITY_RE.test(values.facility)) return usage('--facility must be an mt-facilityid such as F2N060-E');
  if (!values.practice || values.practice.trim().length === 0 || values.practice.length > 200) return usage('--practice is required');
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 24 * 30) return usage('--ttl-hours must be a whole number from 1 to 720');
  const devices = new DeviceService(store, clock, random, config.rateLimit, auditor);
  const { code, expiresAt } = await devices.issueEnrolmentCode(values.facility, values.practice.trim(), ttl);
  await auditor.record({ deviceId: null, facilityId: values.facility, action: 'enrol-code.issue', outcome: 'issued', correlationId: uuidV4(random) });
  out(code);
  err(`One-time enrolment code for ${values.practice.trim()} (${values.facility}); valid until ${iso(expiresAt)}.`);
  return 0;
}

async function facilities(args: string[], { store, out }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
  const list = await listFacilities(store);
  if (values.json) return printJson(out, list);
  if (list.length === 0) out('No facilities known yet (issue an enrolment code with enrol-code).');
  for (const f of list) {
    out(
      `${f.facilityId.padEnd(10)}  ${String(f.activeDevices).padStart(3)} active  ${String(f.revokedDevices).padStart(3)} revoked  ${String(f.codesIssued).padStart(3)} codes issued  last enrolment ${iso(f.lastEnrolledAt)}  ${f.practiceNames.join(' / ') || '-'}`,
    );
  }
  return 0;
}

async function devicesList(args: string[], { store, out, usage }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, facility: { type: 'string' } }, strict: true });
  if (values.facility !== undefined && !FACILITY_RE.test(values.facility)) return usage('--facility must be an mt-facilityid such as F2N060-E');
  const list = (await store.listDevices()).filter((d) => values.facility === undefined || d.facilityId === values.facility);
  if (values.json) return printJson(out, list.map(({ secretHash: _s, ...d }) => ({ ...d, keyBound: d.dpopJkt !== undefined })));
  if (list.length === 0) out('No devices enrolled.');
  for (const d of list) {
    out(`${d.deviceId}  ${d.facilityId}  ${d.revokedAt === null ? 'active ' : 'REVOKED'}  ${d.dpopJkt === undefined ? 'no key' : 'key   '}  enrolled ${iso(d.createdAt)}  ${d.deviceName} (${d.practiceName})`);
  }
  return 0;
}

async function devicesRevoke(args: string[], { store, clock, random, auditor, out, err, usage }: CommandContext): Promise<number> {
  const id = args[0];
  if (!id || args.length !== 1 || !DEVICE_RE.test(id)) return usage('devices revoke needs one device id (dev_…)');
  const device = await store.getDevice(id);
  if (!device) {
    err(`No device ${id}.`);
    return 1;
  }
  await store.revokeDevice(id, clock.now());
  await auditor.record({ deviceId: id, facilityId: device.facilityId, action: 'device.revoke', outcome: 'revoked', correlationId: uuidV4(random) });
  out(`Revoked ${id} (${device.deviceName}, ${device.practiceName}).`);
  return 0;
}

const AUDIT_OPTIONS = {
  device: { type: 'string' },
  facility: { type: 'string' },
  outcome: { type: 'string' },
  action: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string', default: '100' },
  json: { type: 'boolean', default: false },
} as const;

async function audit(args: string[], { store, clock, out, usage }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: AUDIT_OPTIONS, strict: true });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) return usage('--limit must be a whole number from 1 to 100000');
  const since = values.since === undefined ? undefined : parseSince(values.since, clock.now());
  if (since === null) return usage('--since must be an ISO time, or 24h / 7d');
  if (values.device !== undefined && !DEVICE_RE.test(values.device)) return usage('--device must be a device id (dev_…)');
  if (values.facility !== undefined && !FACILITY_RE.test(values.facility)) return usage('--facility must be an mt-facilityid such as F2N060-E');
  if (values.outcome !== undefined && !WORD_RE.test(values.outcome)) return usage('--outcome must be an outcome such as committed or failed');
  if (values.action !== undefined && !WORD_RE.test(values.action)) return usage('--action must be an action such as commit or device.revoke');
  const filtered = values.facility !== undefined || values.outcome !== undefined || values.action !== undefined;
  const fetched = await store.listAudit({ deviceId: values.device, since, limit: filtered ? AUDIT_FILTER_WINDOW : limit });
  const records = filtered
    ? fetched
        .filter((r) => (values.facility === undefined || r.facilityId === values.facility) && (values.outcome === undefined || r.outcome === values.outcome) && (values.action === undefined || r.action === values.action))
        .slice(-limit)
    : fetched;
  if (values.json) return printJson(out, records);
  if (records.length === 0) out('No audit records.');
  for (const r of records) {
    const what = [r.imageId ? `image ${r.imageId}` : '', r.resourceIds.join(' '), r.errorCode ?? '', r.patientHash ? `patient#${r.patientHash.slice(0, 12)}` : '']
      .filter(Boolean)
      .join('  ');
    out(`${iso(r.at)}  ${r.action.padEnd(16)} ${r.outcome.padEnd(10)} ${r.deviceId ?? '-'}  ${r.facilityId ?? '-'}  ${what}  [${r.correlationId}]`);
  }
  return 0;
}

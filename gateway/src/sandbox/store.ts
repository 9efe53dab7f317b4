/** In-memory state of the sandbox: created resources, counters, request records, tokens and the token throttle. */
import { COUNTER_NAMES, type SandboxCounters, type SandboxRequestRecord, type SandboxStore, type StoredResource, type StoredResourceFilter } from './types';

const MAX_REQUEST_RECORDS = 1000;

export type ResourceKind = StoredResource['resourceType'];

const CREATED_COUNTER = { Media: 'mediaCreated', DocumentReference: 'documentReferencesCreated' } as const;

function emptyCounters(): SandboxCounters {
  const zero = Object.fromEntries(COUNTER_NAMES.map((name) => [name, 0])) as Record<(typeof COUNTER_NAMES)[number], number>;
  return { ...zero, requestsByRoute: {}, faultsApplied: {} };
}

function matches(r: StoredResource, filter: StoredResourceFilter = {}): boolean {
  if (filter.facilityId !== undefined && r.facilityId !== filter.facilityId) return false;
  if (filter.patientId !== undefined && r.patientId !== filter.patientId) return false;
  return filter.identifierValue === undefined || r.identifier.value === filter.identifierValue;
}

/** The store as the app sees it (mutable); `SandboxStore` is the read-mostly face given out. */
export class MemoryStore implements SandboxStore {
  private resources: StoredResource[] = [];
  private records: SandboxRequestRecord[] = [];
  private count: SandboxCounters = emptyCounters();
  readonly tokens = new Map<string, { expiresAt: number }>();
  private tokenRequestTimes: number[] = [];

  /** `throttle`: Azure AD's limit on token requests per sliding window, or null for none. */
  constructor(private readonly throttle: { maxRequests: number; windowMs: number } | null) {}

  /** 0 when a token request may proceed now (it is counted), else the seconds until one may. */
  takeTokenSlot(now: number): number {
    if (this.throttle === null) return 0;
    const { maxRequests, windowMs } = this.throttle;
    this.tokenRequestTimes = this.tokenRequestTimes.filter((t) => t > now - windowMs);
    if (this.tokenRequestTimes.length >= maxRequests) return Math.max(1, Math.ceil(((this.tokenRequestTimes[0] ?? now) + windowMs - now) / 1000));
    this.tokenRequestTimes.push(now);
    return 0;
  }

  get counters(): SandboxCounters {
    return { ...this.count, requestsByRoute: { ...this.count.requestsByRoute }, faultsApplied: { ...this.count.faultsApplied } };
  }

  bump(key: (typeof COUNTER_NAMES)[number]): void {
    this.count[key] += 1;
  }

  bumpIn(map: 'requestsByRoute' | 'faultsApplied', key: string): void {
    this.count[map][key] = (this.count[map][key] ?? 0) + 1;
  }

  record(entry: SandboxRequestRecord): void {
    this.records.push(entry);
    if (this.records.length > MAX_REQUEST_RECORDS) this.records.splice(0, this.records.length - MAX_REQUEST_RECORDS);
  }

  requests(): readonly SandboxRequestRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  add(resource: StoredResource): void {
    this.resources.push(resource);
    this.bump(CREATED_COUNTER[resource.resourceType]);
  }

  find(kind: ResourceKind, id: string): StoredResource | undefined {
    return this.resources.find((r) => r.resourceType === kind && r.id === id);
  }

  list(kind: ResourceKind, filter?: StoredResourceFilter): readonly StoredResource[] {
    return this.resources.filter((r) => r.resourceType === kind && matches(r, filter));
  }

  listMedia(filter?: StoredResourceFilter): readonly StoredResource[] {
    return this.list('Media', filter);
  }

  listDocumentReferences(filter?: StoredResourceFilter): readonly StoredResource[] {
    return this.list('DocumentReference', filter);
  }

  reset(): void {
    this.resources = [];
    this.records = [];
    this.count = emptyCounters();
    this.tokens.clear();
    this.tokenRequestTimes = [];
  }
}

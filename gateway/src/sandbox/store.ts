/** In-memory state of the sandbox: created resources, counters, request records and tokens. */
import type { SandboxCounters, SandboxRequestRecord, SandboxStore, StoredResource, StoredResourceFilter } from './types';

const MAX_REQUEST_RECORDS = 1000;

function emptyCounters(): SandboxCounters {
  return {
    tokenRequests: 0,
    tokensIssued: 0,
    mediaCreateCalls: 0,
    mediaCreated: 0,
    documentReferenceCreateCalls: 0,
    documentReferencesCreated: 0,
    launchDecodes: 0,
    requestsByRoute: {},
    faultsApplied: {},
  };
}

export interface IssuedToken {
  expiresAt: number;
  clientId: string;
}

/** The store as the app sees it (mutable); `SandboxStore` is the read-mostly face given out. */
export class MemoryStore implements SandboxStore {
  private media: StoredResource[] = [];
  private docs: StoredResource[] = [];
  private records: SandboxRequestRecord[] = [];
  private count: SandboxCounters = emptyCounters();
  readonly tokens = new Map<string, IssuedToken>();
  private readonly resetListeners: (() => void)[] = [];

  /** Run `fn` on every reset (e.g. the token throttle window). */
  onReset(fn: () => void): void {
    this.resetListeners.push(fn);
  }

  get counters(): SandboxCounters {
    return {
      ...this.count,
      requestsByRoute: { ...this.count.requestsByRoute },
      faultsApplied: { ...this.count.faultsApplied },
    };
  }

  /** Increment a numeric counter. */
  bump(key: Exclude<keyof SandboxCounters, 'requestsByRoute' | 'faultsApplied'>): void {
    this.count[key] += 1;
  }

  bumpRoute(route: string): void {
    this.count.requestsByRoute[route] = (this.count.requestsByRoute[route] ?? 0) + 1;
  }

  bumpFault(kind: string): void {
    this.count.faultsApplied[kind] = (this.count.faultsApplied[kind] ?? 0) + 1;
  }

  record(entry: SandboxRequestRecord): void {
    this.records.push(entry);
    if (this.records.length > MAX_REQUEST_RECORDS) this.records.splice(0, this.records.length - MAX_REQUEST_RECORDS);
  }

  requests(): readonly SandboxRequestRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  addMedia(resource: StoredResource): void {
    this.media.push(resource);
    this.bump('mediaCreated');
  }

  addDocumentReference(resource: StoredResource): void {
    this.docs.push(resource);
    this.bump('documentReferencesCreated');
  }

  findMedia(id: string): StoredResource | undefined {
    return this.media.find((m) => m.id === id);
  }

  findDocumentReference(id: string): StoredResource | undefined {
    return this.docs.find((d) => d.id === id);
  }

  listMedia(filter?: StoredResourceFilter): readonly StoredResource[] {
    return this.media.filter((r) => matches(r, filter));
  }

  listDocumentReferences(filter?: StoredResourceFilter): readonly StoredResource[] {
    return this.docs.filter((r) => matches(r, filter));
  }

  reset(): void {
    this.media = [];
    this.docs = [];
    this.records = [];
    this.count = emptyCounters();
    this.tokens.clear();
    for (const fn of this.resetListeners) fn();
  }
}

function matches(r: StoredResource, filter: StoredResourceFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.facilityId !== undefined && r.facilityId !== filter.facilityId) return false;
  if (filter.patientId !== undefined && r.patientId !== filter.patientId) return false;
  if (filter.identifierValue !== undefined && r.identifier.value !== filter.identifierValue) return false;
  return true;
}

/** Writes one audit record per significant action. Never image bytes, names, NHIs or raw patient ids. */
import { uuidV4, type Clock, type Random } from './deps';
import { patientHash } from './crypto';
import type { AuditRecord, GatewayStore } from './store/types';
import type { ConsentKey } from '../../shared/coded/values';

export interface AuditEntry {
  deviceId: string | null;
  facilityId: string | null;
  /** Hashed before it is stored. */
  patientId?: string | null;
  action: string;
  outcome: string;
  imageId?: string | null;
  resourceIds?: string[];
  errorCode?: string | null;
  correlationId: string;
  /** The patient's consent recorded with a committed image ('verbal' | 'written' | 'not-needed'): a kind, no patient data. */
  consent?: ConsentKey;
}

export class Auditor {
  constructor(
    private readonly store: GatewayStore,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async record(e: AuditEntry): Promise<AuditRecord> {
    const record = this.build(e);
    await this.store.appendAudit(record);
    return record;
  }

  /** The record, not yet written: for stores that write it together with the outcome. */
  build(e: AuditEntry): AuditRecord {
    return {
      id: uuidV4(this.random),
      at: this.clock.now(),
      deviceId: e.deviceId,
      facilityId: e.facilityId,
      patientHash: e.patientId ? patientHash(e.patientId) : null,
      action: e.action,
      outcome: e.outcome,
      imageId: e.imageId ?? null,
      resourceIds: e.resourceIds ?? [],
      errorCode: e.errorCode ?? null,
      correlationId: e.correlationId,
      ...(e.consent === undefined ? {} : { consent: e.consent }),
    };
  }
}

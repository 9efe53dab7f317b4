/**
 * This PC's access to the gateway: the credential and DPoP key from the OS credential store, the one client for
 * `settings.gatewayUrl`, and the renewal watch on every authenticated call (electron/README.md "Enrolling again").
 */
import type { EnrolmentRenewalReason } from '../../shared/contracts/bridge';
import { AppError, toAppError } from '../../shared/errors/app-error';
import type { ErrorCode } from '../../shared/errors/codes';
import type { CommitClient, DeviceCredentials } from '../gateway-client/client';
import { importDpopKey } from '../gateway-client/dpop';
import { readDeviceCredentials } from '../secrets';
import type { OutboxItemView } from '../outbox/types';
import type { CoreParts, GatewayPort } from './ports';

/** Gateway answers that mean THIS PC's enrolment is over: it must be enrolled again with a new code. */
export const RENEWAL_CODES: ReadonlyMap<ErrorCode, EnrolmentRenewalReason> = new Map<ErrorCode, EnrolmentRenewalReason>([
  ['ERR_AUTH_DEVICE_REVOKED', 'revoked'],
  ['ERR_AUTH_DEVICE_UNKNOWN', 'unknown'],
  ['ERR_AUTH_DEVICE_MISSING', 'unknown'],
  ['ERR_AUTH_DEVICE_KEY_REQUIRED', 'key-required'],
]);

const OTHER_PRACTICE_MESSAGE =
  'This photo belongs to the practice this PC was enrolled for before, not the one it is enrolled for now, so it was not sent. It stays on this PC: enrol the PC for its own practice again to send it, or call ClinicPro support.';

/** Every call that reaches the gateway as this PC is watched for an enrolment that is over. */
type WatchedClient = GatewayPort & Required<CommitClient>;

export type DeviceAccessDeps = Pick<CoreParts, 'config' | 'secrets' | 'gateway' | 'clock' | 'log' | 'track' | 'changed'>;

export class DeviceAccess {
  private generation = 0;
  private cache: { url: string; client: WatchedClient } | undefined;

  constructor(private readonly deps: DeviceAccessDeps) {}

  /** null (nothing sent) for an entry that cannot be read or whose key does not import: marked for renewal. */
  readonly credentials = async (): Promise<DeviceCredentials | null> => {
    const generation = this.generation;
    const read = await readDeviceCredentials(this.deps.secrets);
    let creds = read.state === 'ok' ? read.credentials : null;
    try {
      if (creds?.dpopKey !== undefined) importDpopKey(creds.dpopKey);
    } catch {
      creds = null;
    }
    if (creds === null && this.deps.config.current.enrolment !== null) this.needsRenewal('credential-unreadable', generation);
    return creds;
  };

  /** Enrolled, with a credential that reads (checking it marks an unreadable one for renewal). */
  async ready(): Promise<boolean> {
    return this.deps.config.current.enrolment !== null && (await this.credentials()) !== null;
  }

  /** The mark is kept across restarts. Ignored when not enrolled, and for an answer to a call made under an earlier enrolment. */
  needsRenewal(reason: EnrolmentRenewalReason, generation: number): void {
    const config = this.deps.config.current;
    if (config.enrolment === null || generation !== this.generation || config.renewal?.reason === reason) return;
    const { log } = this.deps;
    log.warn({ reason }, 'this PC must be enrolled again');
    void this.deps
      .track(this.deps.config.replace({ ...config, renewal: { reason, at: this.deps.clock.now() } }))
      .catch((e: unknown) => log.error({ err: toAppError(e).code }, 'could not save the enrolment state'));
    this.deps.changed();
  }

  watched<T>(call: () => Promise<T>): Promise<T> {
    const generation = this.generation;
    return call().catch((err: unknown) => {
      const reason = err instanceof AppError ? RENEWAL_CODES.get(err.code) : undefined;
      if (reason !== undefined) this.needsRenewal(reason, generation);
      throw err;
    });
  }

  /** For the one gateway address, settings.gatewayUrl (enrolment sets it; IT may repoint it later). */
  gateway(): WatchedClient {
    const url = this.deps.config.current.settings.gatewayUrl;
    if (this.cache?.url !== url) this.cache = { url, client: this.watchedClient(url) };
    return this.cache.client;
  }

  private watchedClient(url: string): WatchedClient {
    const raw = this.deps.gateway({ baseUrl: url, credentials: this.credentials });
    return {
      enrol: (req, opts) => raw.enrol(req, opts),
      verifyLaunch: (req, opts) => this.watched(() => raw.verifyLaunch(req, opts)),
      lookupPatientByNhi: (nhi, opts) => this.watched(() => raw.lookupPatientByNhi(nhi, opts)),
      confirmLookup: (grantId, opts) => this.watched(() => raw.confirmLookup(grantId, opts)),
      verifyCommit: (imageId, opts) => this.watched(() => raw.verifyCommit(imageId, opts)),
      commit: (req, opts) => this.watched(() => raw.commit(req, opts)),
      confirmCommit: (imageId, opts) =>
        this.watched(async () => {
          if (raw.confirmCommit === undefined) throw new AppError('ERR_INTERNAL', { detail: 'gateway client cannot confirm' });
          return raw.confirmCommit(imageId, opts);
        }),
    };
  }

  /** Answers to calls made before a new enrolment are ignored from now on; the next call gets a new client. */
  newEnrolment(): void {
    this.generation += 1;
    this.cache = undefined;
  }

  /** The outbox's: the enrolled gateway and credential of now. An item of another practice is never sent (it waits). */
  commitClient(item: (imageId: string) => OutboxItemView | undefined): CommitClient {
    return {
      commit: async (req, opts) => {
        const it = item(req.imageId);
        const enrolled = this.deps.config.current.enrolment;
        if (it !== undefined && enrolled !== null && it.facilityId !== enrolled.facilityId) {
          throw new AppError('ERR_NOT_ENROLLED', { message: OTHER_PRACTICE_MESSAGE, detail: 'image of another practice' });
        }
        return this.gateway().commit(req, opts);
      },
      confirmCommit: (imageId, opts) => this.gateway().confirmCommit(imageId, opts),
    };
  }
}

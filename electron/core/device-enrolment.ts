/**
 * Enrolling this PC (`enrolment.enrol`, a new DPoP key pair each time) and `AppState.enrolment`. After it, this
 * practice's photos that waited are sent; another practice's stay on the PC unsent, and the GP is told.
 */
import type { BridgeRequest, BridgeResponse, EnrolmentRenewalReason, EnrolmentView } from '../../shared/contracts/bridge';
import { exportDpopKey, generateDpopKey } from '../gateway-client/dpop';
import { saveDeviceCredentials } from '../secrets';
import { DEVICE_CODES } from '../outbox/outcome';
import type { CoreParts } from './ports';
import type { StoredConfig } from './settings';

/** What practice IT reads on the enrolment screen. */
const RENEWAL_MESSAGES: Record<EnrolmentRenewalReason, string> = {
  revoked: "This PC's access was withdrawn by your practice's ClinicPro administrator. Enter a new enrolment code to use it again.",
  unknown: 'The ClinicPro gateway no longer recognises this PC. Enter a new enrolment code from your practice IT contact to use it again.',
  'key-required':
    'This PC was enrolled before security keys were used, and the ClinicPro gateway now requires one. Enter a new enrolment code to enrol it again with a key.',
  'credential-unreadable':
    "This PC's saved enrolment could not be read (it may have been damaged or removed from the PC's credential store). Enter a new enrolment code to enrol it again.",
};

export type DeviceEnrolmentDeps = Pick<CoreParts, 'config' | 'access' | 'secrets' | 'gateway' | 'outbox' | 'notices' | 'log' | 'changed' | 'iso'> & {
  platform?: string;
  appVersion?: string;
};

export class DeviceEnrolment {
  constructor(private readonly deps: DeviceEnrolmentDeps) {}

  view(): EnrolmentView {
    const { enrolment: e, renewal: r, settings } = this.deps.config.current;
    if (e === null) return { enrolled: false, gatewayUrl: settings.gatewayUrl };
    const view: EnrolmentView = { enrolled: true, practiceName: e.practiceName, deviceName: e.deviceName, gatewayUrl: settings.gatewayUrl };
    if (r !== null && r !== undefined) {
      view.enrolled = false;
      view.renewal = { reason: r.reason, message: RENEWAL_MESSAGES[r.reason], since: this.deps.iso(r.at) };
    }
    return view;
  }

  async enrol({ gatewayUrl, enrolmentCode, deviceName }: BridgeRequest<'enrolment.enrol'>): Promise<BridgeResponse<'enrolment.enrol'>> {
    const { deps } = this;
    const url = gatewayUrl.replace(/\/+$/, '');
    const client = deps.gateway({ baseUrl: url, credentials: async () => null });
    // A new key pair for every enrolment: the gateway keeps the public key's thumbprint, and from then on every
    // call carries a proof signed with the private key, which never leaves this PC (DPoP, RFC 9449).
    const key = generateDpopKey();
    const res = await client.enrol({
      enrolmentCode,
      deviceName,
      ...(deps.platform === undefined ? {} : { platform: deps.platform }),
      ...(deps.appVersion === undefined ? {} : { appVersion: deps.appVersion }),
      dpopJwk: key.publicJwk,
    });
    // One entry in the OS credential store: the secret and the private key.
    await saveDeviceCredentials(deps.secrets, { deviceId: res.deviceId, deviceSecret: res.deviceSecret, dpopKey: exportDpopKey(key) });
    const previous = deps.config.current.enrolment;
    deps.access.newEnrolment();
    await deps.config.replace({
      settings: { ...deps.config.current.settings, gatewayUrl: url },
      enrolment: { deviceId: res.deviceId, deviceName, practiceName: res.practiceName, facilityId: res.facilityId, gatewayUrl: url },
      renewal: null,
    });
    deps.log.info({ deviceId: res.deviceId, again: previous !== null }, 'enrolled');
    this.resumeOutbox(res.facilityId, previous);
    deps.changed();
    return { enrolled: true, practiceName: res.practiceName, deviceName, gatewayUrl: url };
  }

  private resumeOutbox(facilityId: string, previous: StoredConfig['enrolment']): void {
    const { outbox, log } = this.deps;
    let resumed = 0;
    let held = 0;
    for (const item of outbox.list()) {
      if (item.state === 'committed') continue;
      if (item.facilityId !== facilityId) {
        held += 1;
        continue;
      }
      const waitedForEnrolment = (item.state === 'waiting' || item.state === 'failed') && item.lastError !== undefined && DEVICE_CODES.has(item.lastError.code);
      if (waitedForEnrolment && outbox.retry(item.imageId)) resumed += 1;
    }
    if (resumed > 0 || held > 0) log.info({ resumed, held }, 'outbox after enrolment');
    if (held > 0) {
      const whose = previous !== null && previous.facilityId !== facilityId ? previous.practiceName : 'the practice this PC was enrolled for before';
      this.deps.notices.notify('info', 'warning', heldMessage(held, whose));
    }
  }
}

export function heldMessage(held: number, whose: string): string {
  const one = held === 1;
  return `${held} photo${one ? '' : 's'} waiting to be sent belong${one ? 's' : ''} to ${whose}, not the practice this PC is now enrolled for, so ${one ? 'it' : 'they'} will not be sent there. ${one ? 'It stays' : 'They stay'} on this PC: enrol the PC for ${whose} again to send ${one ? 'it' : 'them'}, or call ClinicPro support.`;
}

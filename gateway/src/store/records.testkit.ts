/** Records for the store tests (test support only). */
import type { DeviceRecord } from './types';

export const T0 = Date.parse('2026-01-15T00:00:00Z');

export const device = (id: string, at = T0): DeviceRecord => ({
  deviceId: id,
  secretHash: 'ab'.repeat(32),
  deviceName: 'Consult room 1',
  facilityId: 'F2N060-E',
  practiceName: 'Test Practice',
  platform: null,
  appVersion: null,
  createdAt: at,
  revokedAt: null,
});

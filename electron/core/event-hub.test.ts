/** The core's events: every change raises the revision and sends a snapshot to `state` listeners; a bad listener harms no one. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AppState, Notice } from '../../shared/contracts/bridge';
import { EventHub } from './event-hub';

const log = pino({ level: 'silent' });

describe('EventHub', () => {
  it('raises the revision on every change and sends a fresh snapshot only while someone listens to state', () => {
    let built = 0;
    const hub: EventHub = new EventHub(log, () => {
      built += 1;
      return { revision: hub.revision } as AppState;
    });
    hub.changed();
    expect(hub.revision).toBe(1);
    expect(built).toBe(0);
    const seen: number[] = [];
    const off = hub.on('state', (s) => seen.push(s.revision));
    hub.changed();
    hub.changed();
    expect(seen).toEqual([2, 3]);
    off();
    hub.changed();
    expect(seen).toEqual([2, 3]);
    expect(hub.revision).toBe(4);
  });

  it('a listener that throws does not stop the others, and clear() stops every push', () => {
    const hub = new EventHub(log, () => ({}) as AppState);
    const got: string[] = [];
    hub.on('notice', () => {
      throw new Error('boom');
    });
    hub.on('notice', (n) => got.push(n.id));
    hub.emit('notice', { id: 'n1' } as Notice);
    expect(got).toEqual(['n1']);
    hub.clear();
    hub.emit('notice', { id: 'n2' } as Notice);
    expect(got).toEqual(['n1']);
  });
});

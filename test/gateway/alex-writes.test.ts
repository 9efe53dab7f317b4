/**
 * ALEX_WRITES_PER_FACILITY reaches the ALEX client: a practice never has more creates at ALEX at once,
 * and the others of its commits wait their turn and still commit. The sandbox holds each create at a
 * latency fault whose sleep this test releases by hand, so it counts the creates ALEX holds together.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness';

let h: Harness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function mostCreatesAtOnce(env: Record<string, string>, commits: number): Promise<{ most: number; statuses: number[] }> {
  const held: (() => void)[] = [];
  let most = 0;
  h = await startHarness({
    env,
    sandboxSleep: () =>
      new Promise<void>((resolve) => {
        held.push(resolve);
        most = Math.max(most, held.length);
      }),
  });
  const harness = h;
  harness.sandbox.faults.add({ kind: 'latency', latencyMs: 1_000, method: 'POST', pathPrefix: '/FHIR/Media' });
  const device = await harness.enrol();
  const grant = await harness.launch(device);
  const answers = Promise.all(Array.from({ length: commits }, () => harness.commit(device, harness.commitBody(grant, { media: true }))));
  let done = false;
  void answers.finally(() => (done = true));
  // Release the held creates one at a time, letting the queue refill between releases.
  while (!done) {
    await new Promise((r) => setTimeout(r, 20));
    held.shift()?.();
  }
  return { most, statuses: (await answers).map((r) => r.statusCode) };
}

describe('creates in flight per practice', () => {
  it('default: 2 at once; the rest wait and commit', async () => {
    const { most, statuses } = await mostCreatesAtOnce({}, 5);
    expect(most).toBe(2);
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
  });

  it('ALEX_WRITES_PER_FACILITY=1: one at a time', async () => {
    const { most, statuses } = await mostCreatesAtOnce({ ALEX_WRITES_PER_FACILITY: '1' }, 4);
    expect(most).toBe(1);
    expect(statuses).toEqual([201, 201, 201, 201]);
  });
});

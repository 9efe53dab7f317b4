/**
 * The gateway and the ALEX sandbox of the end-to-end benchmarks, each in a process of its own, as deployed: the
 * gateway started as gateway/src/server.ts starts it, against ALEX at a URL (the sandbox, as `npm run sandbox` runs
 * it). Bundled by the production build, run on plain Node with production's flags; driven over IPC by _e2e-kit.ts.
 * E2E_ROLE=gateway|sandbox; every answer carries the op's id.
 */
import pino from 'pino';
import { hashEnrolmentCode, newEnrolmentCode } from '../../gateway/src/auth/credentials';
import { loadConfig } from '../../gateway/src/config';
import { cryptoRandom } from '../../gateway/src/deps';
import { loadMetricsConfig } from '../../gateway/src/metrics/server';
import { createRuntime } from '../../gateway/src/runtime';
import { startSandbox, type FaultRule } from '../../gateway/src/sandbox';
import { traceHttp, type HttpStep } from './_e2e-trace';
import type { Assumptions } from '../../gateway/src/sandbox/assumptions';

type Handlers = Record<string, (args: never) => unknown>;

function serve(handlers: Handlers, info: unknown): void {
  // The benchmark owns this process: when it goes, so does this one.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: { id: number; op: string; args?: never }) => {
    void (async () => {
      const handler = handlers[m.op];
      if (!handler) throw new Error(`unknown op ${m.op}`);
      return handler(m.args as never);
    })().then(
      (value) => process.send?.({ id: m.id, ok: true, value }),
      (err: unknown) => process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.send?.({ id: 0, ok: true, value: info });
}

/** The steps since `since` (epoch ms); older ones are dropped. */
const stepsSince = (steps: HttpStep[], since: number): HttpStep[] => steps.splice(0).filter((s) => s.at >= since);

async function gateway(): Promise<void> {
  const { steps } = traceHttp();
  const config = loadConfig(process.env);
  const runtime = await createRuntime({ config, metrics: loadMetricsConfig(process.env) });
  await runtime.app.listen({ port: config.port, host: config.host });
  const { port } = runtime.app.server.address() as { port: number };
  serve(
    {
      async mintCode({ facilityId, practiceName }: { facilityId: string; practiceName: string }) {
        const code = newEnrolmentCode(cryptoRandom);
        const now = Date.now();
        await runtime.store.putEnrolmentCode({ codeHash: hashEnrolmentCode(code), facilityId, practiceName, createdAt: now, expiresAt: now + 3600_000, usedAt: null, usedByDeviceId: null });
        return code;
      },
      steps: ({ since }: { since: number }) => stepsSince(steps, since),
      close: () => runtime.close(),
    },
    { url: `http://127.0.0.1:${port}` },
  );
}

async function sandbox(): Promise<void> {
  const { steps } = traceHttp();
  const sb = await startSandbox({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }) });
  /** A create as the gateway sent it (id and meta are the sandbox's): to post the same body straight to ALEX. */
  const asSent = (r: { resource: Record<string, unknown> } | undefined): Record<string, unknown> | null => {
    if (!r) return null;
    const { id: _id, meta: _meta, ...body } = r.resource;
    return body;
  };
  serve(
    {
      addFault: (rule: FaultRule) => sb.faults.add(rule),
      setAssumptions: (a: Partial<Assumptions>) => sb.assumptions.set(a),
      issueLaunch: (a: { patientId: string; facilityCode: string }) => sb.issueLaunch(a),
      createsSince: ({ since }: { since: number }) => sb.store.requests().filter((r) => r.method === 'POST' && /^\/FHIR\/(Media|DocumentReference)/.test(r.path) && r.at >= since).map((r) => r.at),
      firstCreates: ({ since }: { since: number }) => ({
        media: asSent(sb.store.listMedia().find((r) => r.createdAt >= since)),
        documentReference: asSent(sb.store.listDocumentReferences().find((r) => r.createdAt >= since)),
      }),
      steps: ({ since }: { since: number }) => stepsSince(steps, since),
      close: () => sb.close(),
    },
    { url: sb.url, fhirBaseUrl: sb.fhirBaseUrl, tokenUrl: sb.tokenUrl, credentials: sb.credentials, patients: sb.patients.map((p) => ({ id: p.id, nhi: p.nhi })) },
  );
}

await (process.env.E2E_ROLE === 'sandbox' ? sandbox() : gateway());

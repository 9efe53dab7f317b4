/**
 * A second gateway instance beside a harness: its own ALEX client (to the same sandbox, on the same clock)
 * and its own store connection — what a second process behind the load balancer is.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createAlexClient } from '../../../gateway/src/alex/client';
import { buildGateway } from '../../../gateway/src/app';
import type { ProofReplayCache } from '../../../gateway/src/auth/replay';
import { cryptoRandom } from '../../../gateway/src/deps';
import { buildDocumentReference, buildMedia } from '../../../gateway/src/fhir/builders';
import { createLogger } from '../../../gateway/src/logger';
import type { GatewayStore } from '../../../gateway/src/store/types';
import type { Harness } from './harness';

export interface SecondGateway {
  app: FastifyInstance;
  /** Closes the app, its ALEX client, the store and the replay cache it was given. */
  close(): Promise<void>;
}

export function startSecondGateway(h: Harness, store: GatewayStore, proofReplayCache?: ProofReplayCache): SecondGateway {
  const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  const alex = createAlexClient({
    fhirBaseUrl: h.sandbox.fhirBaseUrl,
    tokenUrl: h.sandbox.tokenUrl,
    clientId: h.sandbox.credentials.clientId,
    clientSecret: h.sandbox.credentials.clientSecret,
    scope: h.sandbox.credentials.scope,
    logger,
    clock: () => h.clock.now(),
    sleep: async () => undefined,
  });
  const app = buildGateway({
    config: h.config,
    alex,
    store,
    ...(proofReplayCache ? { proofReplayCache } : {}),
    clock: h.clock,
    random: cryptoRandom,
    logger,
    builders: { buildMedia, buildDocumentReference },
    alexFhirBaseUrl: h.sandbox.fhirBaseUrl,
  });
  return {
    app,
    async close() {
      await app.close();
      alex.close();
      await store.close();
      await proofReplayCache?.close();
    },
  };
}

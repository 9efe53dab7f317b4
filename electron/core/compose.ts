/**
 * The real imaging service, outbox, LAN server and gateway client wired into one core: electron/main and the dev/test
 * browser host both start the companion here, so the shell stays glue and the tests run the same wiring.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createGatewayClient } from '../gateway-client/client';
import { createImagingService } from '../imaging';
import type { ImagingService } from '../imaging/types';
import { createLanServer, type LanServer, type LanServerOptions } from '../lan/server';
import { checkPhoneNetwork } from '../network-diagnosis';
import { LAN_DEFAULT_PORT } from '../../shared/contracts/lan';
import { openOutbox } from '../outbox/outbox';
import type { Outbox } from '../outbox/types';
import { loadSealKey, sealedFiles, sealLegacyMasters } from '../sealed-files';
import { createCompanionCore, type CompanionCore, type CompanionCoreDeps } from './core';
import type { Clock, LanPort } from './ports';

/** The core's own options, passed on as they are. */
type PassedOn = 'secrets' | 'settingsStore' | 'logger' | 'loopbackLaunchPort' | 'appVersion' | 'platform' | 'newId' | 'verifyAfterCommit' | 'timers';

export type StartCompanionOptions = Pick<CompanionCoreDeps, PassedOn> & {
  /** Outbox database and payloads, working masters, LAN uploads. */
  dataDir: string;
  clock?: Clock;
  /** false: no phone capture. */
  lan?: Omit<LanServerOptions, 'sink' | 'clock' | 'logger'> | false;
  /** Outbox backoff jitter. */
  random?: () => number;
};

export interface RunningCompanion {
  core: CompanionCore;
  imaging: ImagingService;
  outbox: Outbox;
  lan: LanServer | null;
  lanAddress: { host: string; port: number } | null;
  close(): Promise<void>;
}

export async function startCompanion(options: StartCompanionOptions): Promise<RunningCompanion> {
  const clock = options.clock ?? { now: () => Date.now() };
  const workDir = join(options.dataDir, 'images');
  await mkdir(workDir, { recursive: true });
  // Phone uploads stay in memory until their master is stored; earlier versions spooled them (sealed) here. Best effort:
  // a file held open elsewhere (Windows, a virus scanner) never stops the companion starting.
  await rm(join(options.dataDir, 'lan'), { recursive: true, force: true }).catch((err: unknown) =>
    options.logger.warn({ code: (err as NodeJS.ErrnoException).code }, 'an old upload folder could not be removed yet'),
  );
  // Masters are sealed at rest with the outbox's key (../sealed-files).
  const sealed = sealedFiles(await loadSealKey(options.secrets));
  await sealLegacyMasters(workDir, sealed);
  const imaging = createImagingService({ logger: options.logger.child({ component: 'imaging' }), masterFiles: sealed.masters });
  let outbox: Outbox | undefined;
  let lan: LanServer | null = null;
  const { lan: lanOptions, random, ...pass } = options;
  const core = await createCompanionCore({
    ...pass,
    clock,
    workDir,
    imaging,
    // The companion's clock also dates the device's proofs (DPoP iat).
    gateway: ({ baseUrl, credentials }) => createGatewayClient({ baseUrl, credentials, now: () => clock.now(), logger: options.logger.child({ component: 'gateway-client' }) }),
    openOutbox: async (commit) => {
      outbox = await openOutbox({
        dir: join(options.dataDir, 'outbox'),
        secrets: options.secrets,
        gateway: commit,
        clock,
        logger: options.logger,
        random,
      });
      return outbox;
    },
    ...(lanOptions === false || lanOptions === undefined
      ? {}
      : {
          lan: (sink): LanPort => {
            lan = createLanServer({ ...lanOptions, sink, clock: () => clock.now(), logger: options.logger.child({ component: 'lan' }) });
            return lan;
          },
          networkCheck: () => checkPhoneNetwork({ bindHost: lanOptions.bindHost, port: lanOptions.port ?? LAN_DEFAULT_PORT }),
        }),
  });
  if (outbox === undefined) throw new Error('outbox not opened');
  const box: Outbox = outbox;
  box.start();
  const lanServer = lan as LanServer | null;
  const lanAddress = lanServer === null ? null : await lanServer.listen();
  return {
    core,
    imaging,
    outbox: box,
    lan: lanServer,
    lanAddress,
    async close() {
      await core.close();
      if (lanServer !== null) await lanServer.close();
      await box.stop();
      await box.close();
      await imaging.close();
    },
  };
}

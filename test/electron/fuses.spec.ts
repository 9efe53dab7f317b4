/**
 * CHECKS.md E6: the fuses flipped at package time, read back from the packaged executable with @electron/fuses
 * (CLINICPRO_ELECTRON_APP, or release/<platform>-unpacked/ from `npx electron-builder --dir`).
 */
import { getCurrentFuseWire, FuseV1Options } from '@electron/fuses';
import { expect, test } from '@playwright/test';
import { packagedExecutable } from './app';

/** The fuse wire stores each fuse as an ASCII digit: '1' on, '0' off. */
const ON = '1'.charCodeAt(0);
const OFF = '0'.charCodeAt(0);

const exe = packagedExecutable();

test('the packaged executable has the fuses electron-builder.yml asks for', async () => {
  test.skip(!exe, 'no packaged app: run `npx electron-builder --dir` (or set CLINICPRO_ELECTRON_APP) to check the fuses');
  const wire = await getCurrentFuseWire(exe as string);
  expect({
    RunAsNode: wire[FuseV1Options.RunAsNode],
    EnableNodeOptionsEnvironmentVariable: wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable],
    EnableNodeCliInspectArguments: wire[FuseV1Options.EnableNodeCliInspectArguments],
    GrantFileProtocolExtraPrivileges: wire[FuseV1Options.GrantFileProtocolExtraPrivileges],
    EnableEmbeddedAsarIntegrityValidation: wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation],
    OnlyLoadAppFromAsar: wire[FuseV1Options.OnlyLoadAppFromAsar],
    EnableCookieEncryption: wire[FuseV1Options.EnableCookieEncryption],
  }).toEqual({
    RunAsNode: OFF,
    EnableNodeOptionsEnvironmentVariable: OFF,
    EnableNodeCliInspectArguments: OFF,
    GrantFileProtocolExtraPrivileges: OFF,
    EnableEmbeddedAsarIntegrityValidation: ON,
    OnlyLoadAppFromAsar: ON,
    EnableCookieEncryption: ON,
  });
});

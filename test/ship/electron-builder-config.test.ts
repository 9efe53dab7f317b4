/**
 * electron-builder.yml: the Windows build cannot run here, so every field the practice installer depends on
 * is checked, and the whole file is validated against electron-builder's own JSON schema
 * (app-builder-lib/scheme.json) with Ajv. build/release-config.cjs (signing from the environment) too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import sharp from 'sharp';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { NATIVE_EXTERNALS } from '../../scripts/build-electron';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..', '..');
const config = parse(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string; dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };

interface ReleaseModule {
  releaseConfig(base: unknown, env: Record<string, string | undefined>): Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  loadBaseConfig(file?: string): unknown;
}
const release = require(join(ROOT, 'build', 'release-config.cjs')) as ReleaseModule;

describe('electron-builder.yml', () => {
  it('is valid against app-builder-lib’s JSON schema (unknown or mistyped fields fail)', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'node_modules/app-builder-lib/scheme.json'), 'utf8')) as Record<string, unknown>;
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The validator really checks: a misspelt field and a wrong type are refused.
    expect(validate({ ...config, msi: { ...config.msi, perMachne: true } })).toBe(false);
    expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsNode: 'no' } })).toBe(false);
  });

  it('names the product, its id and a manufacturer for the MSI', () => {
    expect(config.appId).toBe('nz.co.clinicpro.images');
    expect(config.productName).toBe('ClinicPro Images');
    expect(config.extraMetadata.author.name).toBe('ClinicPro');
    // app.getPath('userData') = %APPDATA%\<productName>: where build/README.md tells IT the data lives.
    expect(config.extraMetadata.productName).toBe(config.productName);
  });

  it('builds a per-machine, silent MSI with a fixed upgrade code, no run after install, the firewall extension and the hook', () => {
    const msi = config.msi;
    expect(msi.artifactName).toBe('ClinicPro-Images.${ext}');
    expect(msi.perMachine).toBe(true);
    expect(msi.oneClick).toBe(true); // no wizard: `msiexec /i ClinicPro-Images.msi /qn`
    expect(msi.runAfterFinish).toBe(false);
    expect(msi.upgradeCode).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(msi.upgradeCode).toBe('07959A16-330C-404E-9397-554D6E8E3751');
    expect(msi.warningsAsErrors).toBe(true);
    const args: string[] = msi.additionalWixArgs;
    expect(args[args.indexOf('-ext') + 1]).toBe('WixFirewallExtension');
    expect(config.msiProjectCreated).toBe('./build/msi-project-created.cjs');
    expect(existsSync(join(ROOT, config.msiProjectCreated as string))).toBe(true);
    const hook = require(join(ROOT, config.msiProjectCreated as string)) as { msiProjectCreated?: unknown };
    expect(typeof hook.msiProjectCreated).toBe('function');
  });

  it('targets MSI, NSIS and portable on Windows (x64) and AppImage + deb on Linux; NSIS never launches after install', () => {
    const winTargets = (config.win.target as { target: string; arch: string[] }[]).map((t) => t.target);
    expect(winTargets).toEqual(['msi', 'nsis', 'portable']);
    expect((config.win.target as { arch: string[] }[]).every((t) => t.arch.join() === 'x64')).toBe(true);
    expect(config.nsis.runAfterFinish).toBe(false);
    expect(config.nsis.perMachine).toBe(true);
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
  });

  it('declares the clinicpro-images protocol (Linux from config; the MSI through the hook)', () => {
    expect(config.protocols).toEqual([{ name: 'ClinicPro Images launch', schemes: ['clinicpro-images'] }]);
    for (const scheme of config.protocols[0].schemes as string[]) expect(scheme).toMatch(/^[a-z][a-z0-9+.-]*$/);
  });

  it('flips the Electron fuses CHECKS.md E6 asks for', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    expect(config.asar).toBe(true);
  });

  it('packs the bundles, the renderer, the icon the shell loads and package.json; nothing from the source tree', () => {
    const files: string[] = config.files;
    expect(files).toEqual(expect.arrayContaining(['dist/electron/**', 'dist/renderer/**', 'package.json', 'build/icon.png']));
    expect(files.filter((f) => !f.startsWith('!')).every((f) => /^(dist\/(electron|renderer)\/\*\*|package\.json|build\/icon\.png)$/.test(f))).toBe(true);
    expect(pkg.main).toBe('dist/electron/main.cjs');
    // electron/main/index.ts loads <app>/build/icon.png; electron-builder needs ≥ 256×256 for Windows.
    expect(config.win.icon).toBe('build/icon.png');
    // build/README.md §4 points IT at resources\clinicpro-images.png for Evolution's MT Icon Loader.
    expect(config.extraResources).toEqual([{ from: 'build/icon.png', to: 'clinicpro-images.png' }]);
  });

  it('has a Windows-size icon', async () => {
    const meta = await sharp(join(ROOT, 'build', 'icon.png')).metadata();
    expect(meta.format).toBe('png');
    expect(Math.min(meta.width ?? 0, meta.height ?? 0)).toBeGreaterThanOrEqual(256);
  });

  it('unpacks every native module the bundle leaves external, and the HEIC worker', () => {
    const unpack: string[] = config.asarUnpack;
    expect(unpack).toEqual(
      expect.arrayContaining([
        'node_modules/sharp/**',
        'node_modules/@img/**',
        'node_modules/keytar/**',
        'node_modules/better-sqlite3/**',
        'node_modules/heic-decode/**',
        'node_modules/libheif-js/**',
        'dist/electron/heic-worker.mjs',
      ]),
    );
    const pureJs = new Set(['electron', 'bonjour-service']);
    for (const mod of NATIVE_EXTERNALS.filter((m) => !pureJs.has(m))) expect(unpack).toContain(`node_modules/${mod}/**`);
    // Production dependencies are packed; keytar is an optional one (it may fail to build on a developer's
    // Linux without libsecret), and electron-builder packs optional dependencies that are installed.
    const packed = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    for (const mod of NATIVE_EXTERNALS.filter((m) => m !== 'electron' && m !== 'libheif-js')) expect(packed).toContain(mod);
    expect(Object.keys(pkg.optionalDependencies ?? {})).toEqual(['keytar']);
  });

  it('keeps signing secrets out of the file: only non-secret signtool options are set', () => {
    const text = readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8');
    expect(config.win.signtoolOptions).toEqual({ signingHashAlgorithms: ['sha256'], rfc3161TimeStampServer: 'http://timestamp.digicert.com' });
    expect(config.win.azureSignOptions).toBeUndefined();
    expect(config.win.signtoolOptions.certificatePassword).toBeUndefined();
    expect(config.forceCodeSigning).toBeUndefined();
    expect(text).not.toMatch(/certificatePassword|CSC_KEY_PASSWORD\s*[:=]\s*\S/);
  });
});

describe('build/release-config.cjs (release signing from the environment)', () => {
  const base = release.loadBaseConfig();

  it('loads the same electron-builder.yml', () => {
    expect(base).toEqual(config);
  });

  it('signs with signtool from CSC_LINK + CSC_KEY_PASSWORD and forces signing', () => {
    const out = release.releaseConfig(base, { CSC_LINK: '/secure/clinicpro.pfx', CSC_KEY_PASSWORD: 'canary-pfx-password' });
    expect(out.forceCodeSigning).toBe(true);
    expect(out.win.signtoolOptions).toEqual(config.win.signtoolOptions);
    expect(JSON.stringify(out)).not.toContain('canary-pfx-password');
    expect(JSON.stringify(out)).not.toContain('/secure/clinicpro.pfx');
  });

  it('signs with Azure Trusted Signing from AZURE_SIGN_* and never copies the client secret', () => {
    const env = {
      AZURE_SIGN_ENDPOINT: 'https://eus.codesigning.azure.net',
      AZURE_SIGN_ACCOUNT: 'clinicpro',
      AZURE_SIGN_PROFILE: 'public-trust',
      AZURE_SIGN_PUBLISHER: 'ClinicPro Ltd',
      AZURE_TENANT_ID: 'tenant',
      AZURE_CLIENT_ID: 'client',
      AZURE_CLIENT_SECRET: 'canary-azure-secret',
    };
    const out = release.releaseConfig(base, env);
    expect(out.win.azureSignOptions).toEqual({ endpoint: env.AZURE_SIGN_ENDPOINT, codeSigningAccountName: 'clinicpro', certificateProfileName: 'public-trust', publisherName: 'ClinicPro Ltd' });
    expect(out.win.signtoolOptions).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain('canary-azure-secret');
    // The base configuration object is not modified.
    expect((base as typeof config).win.azureSignOptions).toBeUndefined();
  });

  it('refuses an unsigned or half-configured release, naming what is missing', () => {
    expect(() => release.releaseConfig(base, {})).toThrow(/must be signed/);
    expect(() => release.releaseConfig(base, { CSC_LINK: 'x.pfx' })).toThrow(/CSC_KEY_PASSWORD/);
    expect(() => release.releaseConfig(base, { AZURE_SIGN_ENDPOINT: 'https://eus.codesigning.azure.net', AZURE_SIGN_ACCOUNT: 'a' })).toThrow(/AZURE_SIGN_PROFILE.*AZURE_CLIENT_SECRET/);
    const full = { AZURE_SIGN_ACCOUNT: 'a', AZURE_SIGN_PROFILE: 'p', AZURE_SIGN_PUBLISHER: 'P', AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 's' };
    expect(() => release.releaseConfig(base, { ...full, AZURE_SIGN_ENDPOINT: 'https://evil.example.com' })).toThrow(/codesigning\.azure\.net/);
  });
});

/**
 * build/msi-project-created.cjs on electron-builder's OWN MSI template (app-builder-lib/templates/msi),
 * rendered the way MsiTarget renders it for our electron-builder.yml: the patched project carries the
 * firewall rule (TCP 47800, private profile, local subnet, our exe) and the machine-wide protocol keys,
 * keeps everything electron-builder generated, and a template it does not recognise fails the build.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname, '..', '..');

interface Hook {
  patchMsiProject(wxs: string, options?: Record<string, unknown>): string;
  msiProjectCreated(file: string): Promise<void>;
  FIREWALL_NS: string;
  FIREWALL_COMPONENT_GUID: string;
  PROTOCOL_COMPONENT_GUID: string;
}
const hook = require(join(ROOT, 'build', 'msi-project-created.cjs')) as Hook;
const ejs = require('ejs') as { compile(t: string): (data: Record<string, unknown>) => string };

/** The little of the DOM these checks use (xmldom, which ships with electron-builder; typed here so the DOM lib stays out of the Node build). */
interface XmlElement {
  prefix: string | null;
  parentNode: XmlElement | null;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(ns: string, tag: string): ArrayLike<XmlElement>;
}
interface XmlDocument {
  getElementsByTagNameNS(ns: string, tag: string): ArrayLike<XmlElement>;
}
const { DOMParser } = require('@xmldom/xmldom') as {
  DOMParser: new (o: { errorHandler: (level: string, msg: unknown) => void }) => { parseFromString(xml: string, type: string): XmlDocument };
};

const WIX_NS = 'http://wixtoolset.org/schemas/v4/wxs';

/** electron-builder's template, compiled exactly as MsiTarget does (`{{ }}` → ejs, `${x}` → `<%=x%>`). */
function renderTemplate(overrides: Record<string, unknown> = {}): string {
  const source = readFileSync(join(ROOT, 'node_modules/app-builder-lib/templates/msi/template.xml'), 'utf8')
    .replace(/{{/g, '<%')
    .replace(/}}/g, '%>')
    .replace(/\${([^}]+)}/g, '<%=$1%>');
  const files = [
    `<Component>\n        <File Name="ClinicPro Images.exe" Source="$(var.appDir)\\ClinicPro Images.exe" ReadOnly="yes" KeyPath="yes" Id="mainExecutable">\n          <Shortcut Id="startMenuShortcut" Directory="ProgramMenuFolder" Name="ClinicPro Images" WorkingDirectory="APPLICATIONFOLDER" Advertise="yes" Icon="ClinicProImagesIcon.exe"/>\n        </File>\n      </Component>`,
    `<Component Directory="dresources">\n        <File Name="app.asar" Source="$(var.appDir)\\resources\\app.asar" ReadOnly="yes" KeyPath="yes"/>\n      </Component>`,
  ].join('\n      ');
  return ejs.compile(source)({
    productName: 'ClinicPro Images',
    upgradeCode: '07959A16-330C-404E-9397-554D6E8E3751',
    version: '0.1.0.0',
    manufacturer: 'ClinicPro',
    compressionLevel: 'high',
    installationDirectoryWixName: 'ClinicPro Images',
    iconPath: 'C:\\build\\icon.ico',
    iconId: 'ClinicProImagesIcon.exe',
    isRunAfterFinish: false,
    isAssisted: false,
    isPerMachine: true,
    menuCategory: null,
    programFilesId: 'ProgramFiles64Folder',
    isCreateDesktopShortcut: false,
    isCreateStartMenuShortcut: true,
    dirs: '<Directory Id="dresources" Name="APPLICATIONFOLDER:\\resources\\"/>',
    files,
    ...overrides,
  });
}

function parse(xml: string): XmlDocument {
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: (level, msg) => void (level !== 'warning' && errors.push(String(msg))) }).parseFromString(xml, 'text/xml');
  expect(errors).toEqual([]);
  return doc;
}
const byId = (doc: XmlDocument, ns: string, tag: string, id: string): XmlElement | undefined =>
  Array.from(doc.getElementsByTagNameNS(ns, tag)).find((e) => e.getAttribute('Id') === id);
const children = (el: XmlElement, ns: string, tag: string): XmlElement[] => Array.from(el.getElementsByTagNameNS(ns, tag));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('msiProjectCreated patch on electron-builder’s template', () => {
  const original = renderTemplate();
  const patched = hook.patchMsiProject(original);
  const doc = parse(patched);

  it('renders a template with no run-after-finish action (runAfterFinish: false) and per-machine ALLUSERS=1', () => {
    expect(original).not.toContain('runAfterFinish');
    const allUsers = byId(doc, WIX_NS, 'Property', 'ALLUSERS');
    expect(allUsers?.getAttribute('Value')).toBe('1');
  });

  it('adds a firewall rule for TCP 47800 on the Private profile, local subnet only, for our executable, inside a component', () => {
    const component = byId(doc, WIX_NS, 'Component', 'ClinicProFirewall');
    expect(component?.getAttribute('Guid')).toBe(hook.FIREWALL_COMPONENT_GUID);
    const [rule, ...more] = children(component as XmlElement, hook.FIREWALL_NS, 'FirewallException');
    expect(more).toHaveLength(0);
    expect(rule?.prefix).toBe('fire');
    expect({
      Port: rule?.getAttribute('Port'),
      Protocol: rule?.getAttribute('Protocol'),
      Scope: rule?.getAttribute('Scope'),
      Profile: rule?.getAttribute('Profile'),
      Program: rule?.getAttribute('Program'),
    }).toEqual({ Port: '47800', Protocol: 'tcp', Scope: 'localSubnet', Profile: 'private', Program: '[#mainExecutable]' });
    // The component is in the product's component group, so it is installed and removed with the app.
    expect((component?.parentNode as XmlElement).getAttribute('Id')).toBe('ProductComponents');
    expect(children(component as XmlElement, WIX_NS, 'RegistryValue').filter((v) => v.getAttribute('KeyPath') === 'yes')).toHaveLength(1);
    // Exactly one rule in the whole project, and no Public/all profile anywhere.
    expect(doc.getElementsByTagNameNS(hook.FIREWALL_NS, 'FirewallException')).toHaveLength(1);
    expect(patched).not.toMatch(/Profile="(public|all|domain)"/);
  });

  it('registers clinicpro-images machine-wide: HKLM\\Software\\Classes, URL Protocol, open command ending in -- "%1"', () => {
    const component = byId(doc, WIX_NS, 'Component', 'ClinicProProtocol') as XmlElement;
    expect(component.getAttribute('Guid')).toBe(hook.PROTOCOL_COMPONENT_GUID);
    const keys = children(component, WIX_NS, 'RegistryKey');
    const root = keys.find((k) => k.getAttribute('Root') === 'HKLM');
    expect(root?.getAttribute('Key')).toBe('Software\\Classes\\clinicpro-images');
    expect(root?.getAttribute('ForceDeleteOnUninstall')).toBe('yes');
    const values = children(root as XmlElement, WIX_NS, 'RegistryValue');
    const direct = values.filter((v) => v.parentNode === root);
    expect(direct.find((v) => v.getAttribute('Name') === 'URL Protocol')?.getAttribute('Value')).toBe('');
    expect(direct.find((v) => !v.getAttribute('Name'))?.getAttribute('KeyPath')).toBe('yes');
    const command = keys.find((k) => k.getAttribute('Key') === 'shell\\open\\command');
    expect(children(command as XmlElement, WIX_NS, 'RegistryValue')[0]?.getAttribute('Value')).toBe('"[APPLICATIONFOLDER]ClinicPro Images.exe" -- "%1"');
    expect(patched).not.toMatch(/Root="HKCU"/);
  });

  it('keeps everything electron-builder generated (files, shortcut, upgrade, icon) unchanged', () => {
    const stripped = patched.replace(/\s*<!-- clinicpro: firewall \+ protocol -->[\s\S]*?(?=\s*<\/ComponentGroup>)/, '').replace(` xmlns:fire="${hook.FIREWALL_NS}"`, '');
    expect(stripped).toBe(original);
    expect(byId(doc, WIX_NS, 'File', 'mainExecutable')).toBeDefined();
    expect(doc.getElementsByTagNameNS(WIX_NS, 'MajorUpgrade')).toHaveLength(1);
  });

  it('is idempotent, and the hook patches the file electron-builder hands it in place', async () => {
    expect(hook.patchMsiProject(patched)).toBe(patched);
    const dir = mkdtempSync(join(tmpdir(), 'msi-hook-'));
    dirs.push(dir);
    const file = join(dir, 'project.wxs');
    writeFileSync(file, original);
    await hook.msiProjectCreated(file);
    expect(readFileSync(file, 'utf8')).toBe(patched);
  });

  it('fails the build on a project it does not recognise, and on bad options, instead of shipping without the rule', () => {
    expect(() => hook.patchMsiProject(original.replace('<ComponentGroup Id="ProductComponents"', '<ComponentGroup Id="Other"'))).toThrow(/ProductComponents/);
    expect(() => hook.patchMsiProject(original.replace('Id="mainExecutable"', ''))).toThrow(/mainExecutable/);
    expect(() => hook.patchMsiProject(original.replace(WIX_NS, 'http://schemas.microsoft.com/wix/2006/wi'))).toThrow(/Wix/);
    expect(() => hook.patchMsiProject(original, { scheme: 'Bad Scheme' })).toThrow(/scheme/);
    expect(() => hook.patchMsiProject(original, { lanPort: 70000 })).toThrow(/lanPort/);
    expect(() => hook.patchMsiProject(original, { executable: '..\\evil.exe' })).toThrow(/executable/);
  });

  it('escapes option values into well-formed XML', () => {
    const out = hook.patchMsiProject(original, { firewallRuleName: 'A "quoted" <rule> & more' });
    const rule = parse(out).getElementsByTagNameNS(hook.FIREWALL_NS, 'FirewallException')[0];
    expect(rule?.getAttribute('Name')).toBe('A "quoted" <rule> & more');
  });
});

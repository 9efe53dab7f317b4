'use strict';
/**
 * electron-builder `msiProjectCreated` hook (see electron-builder.yml).
 *
 * electron-builder writes the WiX project (project.wxs) from its own template, then calls this hook with
 * the file's path before candle/light compile it. electron-builder's MSI target neither registers a URL
 * protocol nor opens a firewall port, so this hook adds two components to the product:
 *
 *  1. ClinicProFirewall  — a Windows Firewall rule (WixFirewallExtension `fire:FirewallException`) for
 *     TCP 47800 (the LAN upload server phones reach), Private network profile only, local subnet only,
 *     limited to the app's executable. Windows Installer adds it on install and removes it on uninstall.
 *  2. ClinicProProtocol  — HKLM\Software\Classes\clinicpro-images (machine-wide URL protocol), with
 *     "URL Protocol" and shell\open\command = "[APPLICATIONFOLDER]ClinicPro Images.exe" -- "%1".
 *     The `--` ends Chromium/Electron switch parsing, so a crafted URL can never become a switch.
 *
 * `patchMsiProject(wxs, options)` is pure (string in, string out) and is unit-tested on electron-builder's
 * own template (test/ship/msi-project.test.ts). It throws when an anchor it needs is missing, so a change in
 * electron-builder's template fails the build instead of shipping an installer without the rule.
 * The compile needs `-ext WixFirewallExtension` (msi.additionalWixArgs in electron-builder.yml).
 */
const { readFile, writeFile } = require('node:fs/promises');

/** Namespace of the firewall extension in the WiX build electron-builder uses (its template is WiX v4 syntax). */
const FIREWALL_NS = 'http://wixtoolset.org/schemas/v4/wxs/firewall';

/** Fixed component GUIDs: never change them, or an upgrade leaves the old rule/keys behind. */
const FIREWALL_COMPONENT_GUID = '4F6C2A1E-7D3B-4B8E-9C51-2E0A8D6F3B71';
const PROTOCOL_COMPONENT_GUID = '9A2E5C7B-1F4D-4E63-8B0A-6C3D2F1E9B58';

const DEFAULTS = Object.freeze({
  scheme: 'clinicpro-images',
  protocolName: 'URL:ClinicPro Images launch',
  executable: 'ClinicPro Images.exe',
  lanPort: 47800,
  firewallRuleName: 'ClinicPro Images phone uploads (TCP 47800)',
});

const MARKER = '<!-- clinicpro: firewall + protocol -->';

function xmlAttr(value) {
  return String(value).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Returns the patched WiX project. Options (all optional): scheme, protocolName, executable, lanPort,
 * firewallRuleName. Idempotent: a project that already carries the patch is returned unchanged.
 */
function patchMsiProject(wxs, options) {
  const o = Object.assign({}, DEFAULTS, options || {});
  if (typeof wxs !== 'string') throw new TypeError('Expected the WiX project text for wxs');
  if (!/^[a-z][a-z0-9+.-]*$/.test(o.scheme)) throw new Error(`Expected a URL scheme for scheme but received ${o.scheme}`);
  if (!Number.isInteger(o.lanPort) || o.lanPort < 1 || o.lanPort > 65535) throw new Error(`Expected a TCP port for lanPort but received ${o.lanPort}`);
  if (!/^[^\\/:*?"<>|]+\.exe$/.test(o.executable)) throw new Error(`Expected an .exe file name for executable but received ${o.executable}`);
  if (wxs.includes(MARKER)) return wxs;

  const wixOpen = /<Wix\s[^>]*xmlns="http:\/\/wixtoolset\.org\/schemas\/v4\/wxs"[^>]*>/.exec(wxs);
  if (!wixOpen) throw new Error('WiX project: no <Wix xmlns="http://wixtoolset.org/schemas/v4/wxs"> root element');
  if (!/<Product\s[^>]*Id=/.test(wxs)) throw new Error('WiX project: no <Product> element');
  const groupRe = /(<ComponentGroup\s+Id="ProductComponents"\s+Directory="APPLICATIONFOLDER"\s*>)([\s\S]*?)(\s*<\/ComponentGroup>)/;
  if (!groupRe.test(wxs)) throw new Error('WiX project: no <ComponentGroup Id="ProductComponents" Directory="APPLICATIONFOLDER">');
  if (!/\bId="mainExecutable"/.test(wxs)) throw new Error('WiX project: the main executable (File Id="mainExecutable") is missing');

  let root = wixOpen[0];
  if (!/xmlns:fire=/.test(root)) root = root.replace(/>$/, ` xmlns:fire="${FIREWALL_NS}">`);

  const key = `Software\\Classes\\${o.scheme}`;
  const command = `"[APPLICATIONFOLDER]${o.executable}" -- "%1"`;
  const components = `
      ${MARKER}
      <Component Id="ClinicProFirewall" Guid="${FIREWALL_COMPONENT_GUID}">
        <RegistryValue Root="HKLM" Key="Software\\ClinicPro\\ClinicPro Images" Name="FirewallRule" Type="string" Value="${xmlAttr(o.firewallRuleName)}" KeyPath="yes"/>
        <fire:FirewallException Id="ClinicProLanUpload" Name="${xmlAttr(o.firewallRuleName)}" Program="[#mainExecutable]" Port="${o.lanPort}" Protocol="tcp" Scope="localSubnet" Profile="private" IgnoreFailure="yes"/>
      </Component>
      <Component Id="ClinicProProtocol" Guid="${PROTOCOL_COMPONENT_GUID}">
        <RegistryKey Root="HKLM" Key="${xmlAttr(key)}" ForceDeleteOnUninstall="yes">
          <RegistryValue Type="string" Value="${xmlAttr(o.protocolName)}" KeyPath="yes"/>
          <RegistryValue Name="URL Protocol" Type="string" Value=""/>
          <RegistryKey Key="DefaultIcon">
            <RegistryValue Type="string" Value="${xmlAttr(`"[APPLICATIONFOLDER]${o.executable}",0`)}"/>
          </RegistryKey>
          <RegistryKey Key="shell\\open\\command">
            <RegistryValue Type="string" Value="${xmlAttr(command)}"/>
          </RegistryKey>
        </RegistryKey>
      </Component>`;

  return wxs.replace(wixOpen[0], root).replace(groupRe, (_m, open, body, close) => `${open}${body}${components}${close}`);
}

/** The hook electron-builder calls: patch the project file in place. */
async function msiProjectCreated(projectFile) {
  const wxs = await readFile(projectFile, 'utf8');
  await writeFile(projectFile, patchMsiProject(wxs), 'utf8');
}

module.exports = { msiProjectCreated, patchMsiProject, DEFAULTS, FIREWALL_NS, FIREWALL_COMPONENT_GUID, PROTOCOL_COMPONENT_GUID };

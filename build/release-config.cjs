'use strict';
/**
 * Release build configuration: electron-builder.yml plus code signing from the environment.
 *
 *   npx electron-builder --win msi --config build/release-config.cjs
 *
 * Signing, in this order:
 *  - Azure Trusted Signing when AZURE_SIGN_ENDPOINT is set: needs AZURE_SIGN_ACCOUNT, AZURE_SIGN_PROFILE and
 *    AZURE_SIGN_PUBLISHER (the certificate's subject CN); AZURE_TENANT_ID, AZURE_CLIENT_ID and
 *    AZURE_CLIENT_SECRET authenticate the signing call (read by the signing module, never by us).
 *  - otherwise signtool with CSC_LINK (.pfx path, https URL or base64) and CSC_KEY_PASSWORD, which
 *    electron-builder reads from the environment itself.
 * A release is never unsigned: `releaseConfig` throws when neither is configured, and sets forceCodeSigning.
 * Secrets never go into the returned configuration; only the Azure account/profile names do.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

function loadBaseConfig(file = join(__dirname, '..', 'electron-builder.yml')) {
  // js-yaml ships with electron-builder, which is what runs this file.
  const yaml = require('js-yaml');
  return yaml.load(readFileSync(file, 'utf8'));
}

/** Pure: base config + environment → release config. Throws a plain message naming what is missing. */
function releaseConfig(base, env) {
  const config = JSON.parse(JSON.stringify(base));
  config.forceCodeSigning = true;
  config.win = config.win || {};
  const has = (k) => typeof env[k] === 'string' && env[k].trim() !== '';
  if (has('AZURE_SIGN_ENDPOINT')) {
    const missing = ['AZURE_SIGN_ACCOUNT', 'AZURE_SIGN_PROFILE', 'AZURE_SIGN_PUBLISHER', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET'].filter((k) => !has(k));
    if (missing.length > 0) throw new Error(`Azure Trusted Signing: set ${missing.join(', ')}`);
    if (!/^https:\/\/[a-z0-9.-]+\.codesigning\.azure\.net\/?$/.test(env.AZURE_SIGN_ENDPOINT.trim())) {
      throw new Error('AZURE_SIGN_ENDPOINT must be https://<region>.codesigning.azure.net');
    }
    delete config.win.signtoolOptions;
    config.win.azureSignOptions = {
      endpoint: env.AZURE_SIGN_ENDPOINT.trim(),
      codeSigningAccountName: env.AZURE_SIGN_ACCOUNT.trim(),
      certificateProfileName: env.AZURE_SIGN_PROFILE.trim(),
      publisherName: env.AZURE_SIGN_PUBLISHER.trim(),
    };
    return config;
  }
  if (has('CSC_LINK') || has('WIN_CSC_LINK')) {
    if (!has('CSC_KEY_PASSWORD') && !has('WIN_CSC_KEY_PASSWORD')) throw new Error('signtool signing: set CSC_KEY_PASSWORD for CSC_LINK');
    return config;
  }
  throw new Error('A release must be signed: set CSC_LINK + CSC_KEY_PASSWORD, or AZURE_SIGN_ENDPOINT and the AZURE_SIGN_* variables');
}

module.exports = () => releaseConfig(loadBaseConfig(), process.env);
module.exports.releaseConfig = releaseConfig;
module.exports.loadBaseConfig = loadBaseConfig;

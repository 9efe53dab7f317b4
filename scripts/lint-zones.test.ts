/**
 * Proves that the import zones in eslint.config.js enforce ARCHITECTURE.md's allowed imports:
 * a forbidden import is an error, an allowed one is not. Uses the real zone list and the real rule.
 */
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { describe, expect, it } from 'vitest';
import { importSettings, zones } from '../eslint.config.js';

const root = new URL('..', import.meta.url).pathname;

const eslint = new ESLint({
  cwd: root,
  overrideConfigFile: true,
  overrideConfig: [
    {
      files: ['**/*.ts', '**/*.tsx'],
      languageOptions: { parser: tseslint.parser },
      plugins: { 'import-x': importX },
      settings: importSettings,
      rules: { 'import-x/no-restricted-paths': ['error', { zones }] },
    },
  ],
});

async function violations(filePath: string, importFrom: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${importFrom}';\nexport const y = x;\n`, { filePath: `${root}${filePath}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

describe('import zones', () => {
  it.each([
    ['renderer/src/probe.ts', '../../gateway/src/alex/types', 'renderer → gateway'],
    ['shared/probe.ts', '../gateway/src/alex/types', 'shared → gateway'],
    ['shared/contracts/probe.ts', '../../eslint.config.js', 'control: outside zones'],
  ])('%s importing %s (%s)', async (file, from, label) => {
    const found = await violations(file, from);
    if (label.startsWith('control')) expect(found).toEqual([]);
    else expect(found.length).toBe(1);
  });

  it('lets every folder import shared/', async () => {
    expect(await violations('gateway/src/probe.ts', '../../shared/limits')).toEqual([]);
    expect(await violations('renderer/src/probe.ts', '../../shared/limits')).toEqual([]);
    expect(await violations('electron/lan/probe.ts', '../../shared/limits')).toEqual([]);
  });

  it('forbids the gateway importing companion code and the companion importing the gateway', async () => {
    expect(await violations('electron/lan/probe.ts', '../../gateway/src/alex/types')).toHaveLength(1);
    expect(await violations('gateway/src/probe.ts', '../../electron/main/index')).toHaveLength(1);
  });

  it('forbids core modules importing the Electron shell', async () => {
    expect(await violations('electron/lan/probe.ts', '../main/index')).toHaveLength(1);
    expect(await violations('electron/main/probe.ts', '../lan/server')).toEqual([]);
  });
});

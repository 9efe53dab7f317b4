// ESLint flat config. The import zones below enforce ARCHITECTURE.md's allowed imports;
// scripts/lint-zones.test.ts proves that a forbidden import fails.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

/** Zones: files in `target` may not import from `from`. */
export const zones = [
  { target: './shared', from: ['./electron', './renderer', './gateway', './scripts', './test'], message: 'shared/ imports nothing of ours.' },
  { target: './gateway', from: ['./electron', './renderer'], message: 'The gateway may import shared/ only.' },
  { target: './renderer', from: ['./electron', './gateway'], message: 'The renderer talks to the core only through the bridge (shared/ contract).' },
  {
    target: './electron',
    from: ['./gateway', './renderer'],
    message: 'The companion talks to the gateway over HTTP only (shared/contracts/gateway.ts).',
  },
  {
    target: './electron/!(main)/**/*',
    from: ['./electron/main'],
    message: 'Companion core modules never import the Electron shell.',
  },
];

/** Resolve extensionless TypeScript imports so the zones see where an import really points. */
export const importSettings = {
  'import-x/resolver': { node: { extensions: ['.ts', '.tsx', '.js', '.mjs'] } },
};

export default tseslint.config(
  {
    ignores: ['eslint.config.d.ts', 'node_modules/**', 'dist/**', 'coverage/**', 'test-results/**', 'playwright-report/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { 'import-x': importX },
    settings: importSettings,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', message: 'Only electron/main and electron/preload may import electron.' }] },
      ],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    files: ['electron/main/**/*.ts', 'electron/preload/**/*.ts', '**/*.test.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['scripts/**/*.ts', 'test/**/*.ts', '**/cli.ts', '**/*.test.ts', '**/*.test.tsx'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^node:', message: 'shared/ runs in the browser too: no node: imports.' }], paths: ['electron', 'fs', 'path', 'crypto'] },
      ],
    },
  },
  {
    // Tests beside shared/ code run in Node only and may use Node and the scripts that maintain shared/.
    files: ['shared/**/*.test.ts'],
    rules: { 'no-restricted-imports': 'off', 'import-x/no-restricted-paths': 'off' },
  },
);

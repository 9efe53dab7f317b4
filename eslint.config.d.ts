import type { Linter } from 'eslint';
export declare const zones: Array<{ target: string; from: string[]; message: string }>;
export declare const importSettings: Linter.Config['settings'];
declare const config: Linter.Config[];
export default config;

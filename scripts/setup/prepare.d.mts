// Types for prepare.mjs (plain Node, run before node_modules exist), for its test.
export declare const DEBIAN_PACKAGES: { build: Record<string, string>; start: Record<string, string>; test: Record<string, string> };
export declare function packagesFor(purpose: 'start' | 'test', installing?: boolean): string[];
export declare function versionAtLeast(version: string, minimum: string): boolean;
export declare function missingDebianPackages(names: string[], query?: (name: string) => string): string[];
export declare function nodeModulesState(root?: string): 'missing' | 'stale' | 'linked' | 'fresh';
export declare function findElectronBinary(): { path: string } | { reason: string };
export declare function prepare(purpose: 'start' | 'test'): boolean;

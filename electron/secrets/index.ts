/**
 * Secrets of the companion (device credential, outbox key) in the OS credential store.
 * Plain Node: no electron import. The Electron app opens its store with openSecretStore (keytar: Windows
 * Credential Manager, macOS Keychain, libsecret); MemorySecretStore is for tests; the development-only file
 * store is for a developer machine without an OS credential store and for the browser host.
 * Each file below imports only store.ts (the interface and names), never this index.
 */
export * from './store';
export * from './keytar-store';
export * from './dev-file-store';
export * from './open-store';
export * from './device-credentials';

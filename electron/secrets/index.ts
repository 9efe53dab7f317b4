/** The companion's secrets behind `SecretStore` (README.md). No file of this folder imports this index (no circle). */
export * from './store';
export * from './keytar-store';
export * from './dev-file-store';
export * from './open-store';
export * from './device-credentials';

export * from './limits';
export * from './nhi';
export * from './errors';
export * from './coded/values';
export * from './contracts/common';
export * from './contracts/gateway';
export * from './contracts/lan';

export * from './client';
export { compile, type Checker } from './validate';

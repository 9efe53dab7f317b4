export { startCompanion, type StartCompanionOptions, type RunningCompanion } from './compose';

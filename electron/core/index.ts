export { createCompanionCore, type CompanionCore, type CompanionCoreDeps } from './core';
export type * from './ports';
export { DEFAULT_SETTINGS, MemorySettingsStore, readConfig, applySettingsPatch, type SettingsStore, type StoredConfig, type EnrolmentRecord } from './settings';
export { captionText } from './caption';
export { toImagingEdits, unrotate } from './edits';
export { startCompanion, type StartCompanionOptions, type RunningCompanion } from './compose';

export { createImagingService } from './service';
export { sniffType } from './sniff';
export { planTargets, targetNotice, type TargetPlan } from './targets';
export type {
  Annotation,
  Edits,
  ImagingLimits,
  ImagingLogger,
  ImagingService,
  ImagingServiceOptions,
  IngestDest,
  IngestInput,
  IngestOptions,
  IngestResult,
  OutputFormat,
  Point,
  RenderOutput,
  RenderResult,
  SourceType,
} from './types';

export { createImagingService } from './service';
export { sniffType } from './sniff';
export type {
  Annotation,
  Edits,
  ImagingLimits,
  ImagingLogger,
  ImagingService,
  ImagingServiceOptions,
  IngestDest,
  IngestInput,
  IngestResult,
  OutputFormat,
  Point,
  RenderOutput,
  RenderResult,
  SourceType,
} from './types';

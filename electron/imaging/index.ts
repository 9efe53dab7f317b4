export { createImagingService } from './service';

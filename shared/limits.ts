/** Size, time and count limits shared by the companion, the mobile page and the gateway. */
export const LIMITS = {
  /** Medtech's accepted size for one image attachment (Media or Inbox Scan), in bytes. Configurable per practice. */
  alexMaxAttachmentBytes: 1_000_000,
  /** Largest single upload the LAN server or the desktop accepts before processing. */
  maxUploadFileBytes: 40 * 1024 * 1024,
  /** Most files in one `images.addFiles` call over the bridge. */
  maxUploadFilesPerRequest: 10,
  /** Most decoded pixels any input may have (decompression-bomb guard). */
  maxInputPixels: 50_000_000,
  /** Largest JSON body the gateway accepts (a 1 MB image is ~1.34 MB as base64, plus metadata). */
  gatewayMaxBodyBytes: 3 * 1024 * 1024,
  /** Caption and title lengths. */
  maxCaptionChars: 500,
  maxTitleChars: 200,
  /** A photo's name as it travels into Medtech's title ("Photo 2", or the desktop file's name), characters. */
  maxPhotoLabelChars: 80,
  /** QR session token lifetime (before it is exchanged), seconds. */
  qrTokenTtlSeconds: 600,
  /** A LAN upload session ends after this much idle time, seconds. */
  lanSessionIdleSeconds: 30 * 60,
  /** A launch grant from the gateway lives this long, seconds. */
  launchGrantTtlSeconds: 12 * 60 * 60,
  /** An Evolution launch pair older than this is refused, seconds. */
  launchMaxAgeSeconds: 5 * 60,
  /** Upper bound on the raw `clinicpro-images://` URL length, characters. */
  launchUrlMaxChars: 8192,
  /** Upper bound on each of `context` and `signature`, characters. */
  launchParamMaxChars: 4096,
  /** Thumbnail long edge, pixels. */
  thumbnailEdgePx: 320,
} as const;

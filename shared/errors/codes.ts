/**
 * The one error vocabulary of ClinicPro Images. Every failure a user can see maps to one of these codes.
 * Messages are written for a GP, a nurse or practice IT: plain words, no jargon, and what to do next.
 * Codes are stable: they travel over the wire (gateway, LAN, bridge) and are stored in the outbox.
 */

/** What the person seeing the error should do next. */
export type ErrorAction =
  | 'retry' // it may work if tried again (automatically or by pressing Retry)
  | 'wait' // nothing to do: it will be retried automatically
  | 'relaunch' // launch again from Medtech Evolution
  | 'fix-input' // change what was sent (another file, fill in a field)
  | 'rescan' // scan the new QR code on the PC
  | 'enrol' // enrol this PC again
  | 'check-medtech' // a person must look in Medtech: was it stored? then say so ("It is in Medtech" / "Send again")
  | 'support'; // call ClinicPro support (quote the reference)

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
  readonly action: ErrorAction;
  /** True when the same request may succeed later without any change. */
  readonly retryable: boolean;
}

const spec = (status: number, message: string, action: ErrorAction, retryable = false): ErrorSpec => ({
  status,
  message,
  action,
  retryable,
});

export const ERROR_CODES = {
  // --- request shape -------------------------------------------------------------------------
  ERR_REQUEST_INVALID: spec(400, 'The request was not in the expected form.', 'support'),
  ERR_REQUEST_TOO_LARGE: spec(413, 'That is too large to send.', 'fix-input'),
  ERR_NOT_FOUND: spec(404, 'That was not found.', 'support'),
  ERR_RATE_LIMITED: spec(429, 'Too many requests in a short time. Please wait a moment.', 'wait', true),
  ERR_INTERNAL: spec(500, 'Something went wrong on our side. Please try again; if it keeps happening, call support.', 'support', true),
  /** The caller stopped waiting (AbortSignal): not a failure, never shown to the GP as an error. 499 = client closed request. */
  ERR_REQUEST_CANCELLED: spec(499, 'That was cancelled.', 'retry', true),

  // --- device enrolment and authentication ------------------------------------------------------
  ERR_ENROL_CODE_INVALID: spec(400, 'That enrolment code is not valid. Check it with your practice IT contact.', 'fix-input'),
  ERR_ENROL_CODE_USED: spec(409, 'That enrolment code has already been used. Ask for a new one.', 'fix-input'),
  ERR_ENROL_CODE_EXPIRED: spec(410, 'That enrolment code has expired. Ask for a new one.', 'fix-input'),
  ERR_ENROL_KEY_INVALID: spec(400, "This PC's security key is not a kind ClinicPro Images accepts, so the PC was not enrolled. Update ClinicPro Images, then enrol again.", 'support'),
  ERR_ENROL_KEY_PRIVATE: spec(400, 'This PC sent its private security key, which must never leave the PC. Nothing was kept and the PC was not enrolled. Update ClinicPro Images, then enrol again.', 'support'),
  ERR_ENROL_KEY_REQUIRED: spec(400, 'This PC must enrol with a security key, and it did not send one. Update ClinicPro Images, then enrol again.', 'support'),
  ERR_AUTH_DEVICE_MISSING: spec(401, 'This PC is not enrolled with ClinicPro Images yet.', 'enrol'),
  ERR_AUTH_DEVICE_UNKNOWN: spec(401, 'This PC is not recognised. It may need to be enrolled again.', 'enrol'),
  ERR_AUTH_DEVICE_REVOKED: spec(401, 'This PC has been removed from ClinicPro Images. Ask practice IT to enrol it again.', 'enrol'),
  ERR_AUTH_DEVICE_KEY_REQUIRED: spec(401, 'This PC was enrolled without a security key, which is now required. Ask practice IT to enrol it again.', 'enrol'),
  ERR_AUTH_PROOF_MISSING: spec(401, 'This PC did not prove it holds its security key, so the request was refused. Update ClinicPro Images; if it keeps happening, call support.', 'support'),
  ERR_AUTH_PROOF_INVALID: spec(401, "This PC's security check failed, so the request was refused. If it keeps happening, call support.", 'support'),
  ERR_AUTH_PROOF_CLOCK: spec(401, "This PC's clock is more than a minute out, so the request was refused. Set the PC's date and time to update automatically, then try again.", 'support'),
  ERR_AUTH_PROOF_REPLAYED: spec(401, 'This request had already been received once, so the copy was refused. Please try again.', 'retry'),

  // --- launch from Evolution ------------------------------------------------------------------
  ERR_LAUNCH_MALFORMED: spec(400, 'The launch from Medtech Evolution could not be read. Please launch again from Evolution.', 'relaunch'),
  ERR_LAUNCH_SIGNATURE: spec(401, 'The launch from Medtech Evolution could not be verified. Please launch again from Evolution.', 'relaunch'),
  ERR_LAUNCH_EXPIRED: spec(401, 'That launch from Medtech Evolution is too old. Please launch again from Evolution.', 'relaunch'),
  ERR_LAUNCH_REPLAYED: spec(409, 'That launch link has already been used. Please launch again from Evolution.', 'relaunch'),
  ERR_LAUNCH_NO_PATIENT: spec(422, 'No patient is open in Medtech Evolution. Open the patient, then launch again.', 'relaunch'),
  ERR_LAUNCH_FACILITY_MISMATCH: spec(403, 'That launch came from a different practice than this PC is enrolled for.', 'support'),
  ERR_LAUNCH_GRANT_INVALID: spec(401, 'The patient session has ended. Please launch again from Evolution.', 'relaunch'),
  ERR_LAUNCH_GRANT_EXPIRED: spec(401, 'The patient session has expired. Please launch again from Evolution.', 'relaunch'),

  // --- finding a patient by NHI (fallback when no launch from Evolution is possible) ------------
  ERR_LOOKUP_NHI_INVALID: spec(400, 'That is not a valid NHI number. Check it and type it again: 3 letters, then 4 numbers or letters.', 'fix-input'),
  ERR_LOOKUP_EXPIRED: spec(410, 'That patient search has expired. Find the patient by NHI again.', 'fix-input'),
  ERR_LOOKUP_ENDED: spec(409, 'That patient search is no longer open. Find the patient by NHI again, or launch from Medtech Evolution.', 'fix-input'),
  ERR_LOOKUP_UNCONFIRMED: spec(403, 'This patient was found by NHI but has not been confirmed on screen, so nothing was sent. Confirm the patient, or find them by NHI again.', 'fix-input'),

  // --- committing an image --------------------------------------------------------------------
  ERR_COMMIT_PATIENT_MISMATCH: spec(403, 'This image belongs to a different patient than the one it is being sent for. It was not sent.', 'support'),
  ERR_COMMIT_IMAGE_TOO_LARGE: spec(413, 'The image is larger than Medtech accepts (1 MB).', 'fix-input'),
  ERR_COMMIT_IMAGE_TYPE: spec(415, 'Medtech does not accept this kind of file here.', 'fix-input'),
  ERR_COMMIT_IMAGE_MALFORMED: spec(422, 'The image file is damaged or carries extra data, so it was not sent. Add the photo again from the original.', 'fix-input'),
  ERR_IDEMPOTENCY_KEY_MISSING: spec(400, 'The image has no identifier, so it cannot be sent safely.', 'support'),
  ERR_IDEMPOTENCY_IN_PROGRESS: spec(409, 'This image is already being sent.', 'wait', true),
  ERR_IDEMPOTENCY_MISMATCH: spec(422, 'A different image was already sent under this identifier.', 'support'),

  // --- ALEX (Medtech) -------------------------------------------------------------------------
  ERR_ALEX_UNAVAILABLE: spec(503, "The practice's Medtech connection is offline (the PC that links Medtech to the cloud may be asleep). Images wait and send automatically.", 'wait', true),
  ERR_ALEX_THROTTLED: spec(429, 'Medtech is busy. Images wait and send automatically.', 'wait', true),
  ERR_ALEX_TIMEOUT: spec(504, 'Medtech did not answer in time. Images wait and send automatically.', 'wait', true),
  ERR_ALEX_AUTH: spec(502, 'ClinicPro could not sign in to Medtech. Support has been told; images wait.', 'support', true),
  ERR_ALEX_FACILITY_NOT_FOUND: spec(403, 'Medtech does not recognise this practice for ClinicPro. Call support.', 'support'),
  ERR_ALEX_FORBIDDEN: spec(403, 'Medtech refused this request (permission). Call support.', 'support'),
  ERR_ALEX_REJECTED: spec(422, 'Medtech refused this image. Call support and quote the reference.', 'support'),
  ERR_ALEX_NOT_FOUND: spec(404, 'Medtech could not find that record.', 'support'),
  ERR_ALEX_PATIENT_NOT_FOUND: spec(404, 'That patient was not found in Medtech.', 'relaunch'),
  ERR_ALEX_ERROR: spec(502, 'Medtech answered with an error. Images wait and send automatically.', 'wait', true),
  /**
   * A create may have reached Medtech but its answer did not come back, and nothing has yet proven whether it was
   * stored. Nothing is resent while this holds; the same request asks again later.
   */
  ERR_ALEX_OUTCOME_UNKNOWN: spec(409, 'Sent to Medtech; waiting for Medtech to confirm it arrived. It will not be sent twice. Nothing to do.', 'wait', true),
  /**
   * Still unknown after the longest time Medtech could plausibly take: a person must look. The companion offers
   * "It is in Medtech" (POST commitConfirm) and "Send again" (a commit with `resendAfterCheck: true`).
   */
  ERR_COMMIT_UNCONFIRMED: spec(409, "Sent to Medtech, but Medtech has not confirmed it arrived. Look in the patient's Inbox in Medtech for this photo before sending it again.", 'check-medtech'),

  // --- images ---------------------------------------------------------------------------------
  ERR_IMAGE_UNSUPPORTED: spec(415, 'This file is not a photo or document we can use. Use JPEG, PNG, HEIC, WebP, TIFF or PDF.', 'fix-input'),
  ERR_IMAGE_CORRUPT: spec(422, 'This image is damaged or incomplete and cannot be opened.', 'fix-input'),
  ERR_IMAGE_TOO_MANY_PIXELS: spec(413, 'This image is too large (too many pixels) to open safely.', 'fix-input'),
  ERR_IMAGE_FILE_TOO_LARGE: spec(413, 'This file is too large. The limit is 40 MB.', 'fix-input'),
  ERR_IMAGE_CANNOT_FIT: spec(422, 'This image cannot be made small enough for Medtech (1 MB) while staying readable.', 'fix-input'),
  ERR_IMAGE_METADATA_REQUIRED: spec(422, 'Some required details are missing for this image.', 'fix-input'),
  ERR_IMAGE_LOCKED: spec(409, 'This image is already being sent to Medtech, so it can no longer be changed or removed.', 'wait'),
  ERR_IMAGE_PDF_INBOX_ONLY: spec(422, "This PDF can go to the Inbox Scan only; Medtech's Media takes photos. Choose Inbox Scan to send it.", 'fix-input'),

  // --- LAN (phone) uploads --------------------------------------------------------------------
  ERR_LAN_TOKEN_INVALID: spec(401, 'This link is not valid. Scan the QR code on the PC again.', 'rescan'),
  ERR_LAN_TOKEN_EXPIRED: spec(401, 'This QR code has expired. Scan the new QR code on the PC.', 'rescan'),
  ERR_LAN_SESSION_ENDED: spec(410, 'The upload session on the PC has ended. Scan the new QR code on the PC.', 'rescan'),
  ERR_LAN_SESSION_SENT: spec(410, 'The GP has sent the photos from this session, and the session has ended. To take more photos, scan the new QR code on the PC.', 'rescan'),
  ERR_LAN_PATIENT_CHANGED: spec(409, 'The PC has changed to a different patient. Photos were not sent to the new patient. Scan the new QR code.', 'rescan'),
  ERR_LAN_HOST_REJECTED: spec(421, 'This address is not allowed. Scan the QR code on the PC again.', 'rescan'),
  ERR_LAN_TOO_MANY_PARTS: spec(413, 'That upload was not in the expected form (too many parts). Please send the photo again.', 'retry'),
  ERR_LAN_CROSS_SITE: spec(403, 'This request came from another web page and was refused. Open the link from the QR code on the PC.', 'rescan'),

  // --- companion ------------------------------------------------------------------------------
  ERR_NOT_ENROLLED: spec(401, 'This PC is not enrolled yet. Enter the gateway address and enrolment code.', 'enrol'),
  ERR_GATEWAY_UNREACHABLE: spec(503, 'ClinicPro cannot reach the internet service right now. Images wait and send automatically.', 'wait', true),
  ERR_STORAGE_FULL: spec(507, 'The PC has run out of disk space. Free some space; nothing was lost.', 'support', true),
  ERR_STORAGE_IO: spec(500, 'The PC could not save the image. Nothing was lost; please try again.', 'retry', true),
  ERR_NO_PATIENT: spec(409, 'No patient is selected. Launch from Medtech Evolution first.', 'relaunch'),
  ERR_STORAGE_CORRUPT: spec(500, 'The copy of this image saved on this PC is damaged, so it was not sent. Please add the photo again.', 'fix-input'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ALL_ERROR_CODES = Object.keys(ERROR_CODES) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

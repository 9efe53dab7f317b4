/** What the GP is told about phones, in plain words (no patient data: the notice sits beside the banner). */

/** The GP's notice when a nurse's phone said the patient on it is not the one in front of her. */
export const PHONE_DECLINED_MESSAGE =
  'A phone that scanned the QR code said this is not the right patient, and sent nothing. Check the patient in Evolution, then show the QR code again.';

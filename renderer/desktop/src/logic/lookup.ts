/** "Find patient by NHI": the words for the NHI field and a failed search. The NHI check itself is shared/nhi. */
import type { ErrorBody } from '../../../../shared/errors/app-error';
import { isValidNhi } from '../../../../shared/nhi';

/** What is sent: spaces removed, upper case ("zzz 0016" → "ZZZ0016"). */
export function cleanNhi(input: string): string {
  return input.replace(/\s+/g, '').toUpperCase();
}

/** Letters used in NHIs: A–Z without I and O. */
const LETTER = '[A-HJ-NP-Z]';
const OLD_FORMAT = new RegExp(`^${LETTER}{3}[0-9]{4}$`);
const NEW_FORMAT = new RegExp(`^${LETTER}{3}[0-9]{2}${LETTER}{2}$`);

/** The NHI field's message (what is wrong in plain words, never "invalid input"), or null when the NHI is valid. */
export function nhiProblem(input: string): string | null {
  const nhi = cleanNhi(input);
  if (nhi === '') return "Type the patient's NHI number.";
  if (!/^[A-Z0-9]+$/.test(nhi)) return 'An NHI has only letters and numbers, for example ABC1234.';
  if (nhi.length !== 7) return `An NHI has 7 characters: 3 letters, then 4 numbers or letters. This has ${nhi.length}.`;
  if (!/^[A-Z]{3}/.test(nhi)) return 'An NHI starts with 3 letters, for example ABC1234.';
  if (/[IO]/.test(nhi)) return 'NHI numbers never use the letters I or O. Check for a 1 or a 0.';
  if (!OLD_FORMAT.test(nhi) && !NEW_FORMAT.test(nhi)) return 'After the 3 letters an NHI has 4 numbers (ABC1234) or 2 numbers and 2 letters (ABC12DE).';
  if (!isValidNhi(nhi)) return 'This is not a valid NHI: the last character does not match. Check for a typing mistake.';
  return null;
}

/** Failures that pass by themselves: the coded messages speak of images waiting, which is not what happened here. */
const BUSY_CODES: ReadonlySet<string> = new Set(['ERR_ALEX_THROTTLED', 'ERR_ALEX_TIMEOUT', 'ERR_ALEX_ERROR', 'ERR_RATE_LIMITED']);

export interface LookupErrorText {
  message: string;
  hint?: string;
  /** A short reference for support, when the failure has one. */
  reference?: string;
}

/** A failed search in the words of the search: the coded message, except where it speaks of images waiting. */
export function lookupErrorText(error: Pick<ErrorBody, 'code' | 'message' | 'action' | 'correlationId'>, nhi: string): LookupErrorText {
  const reference = error.correlationId ? `Reference ${error.correlationId.slice(0, 8)}` : undefined;
  const withRef = (t: LookupErrorText): LookupErrorText => (reference === undefined ? t : { ...t, reference });
  if (error.code === 'ERR_ALEX_PATIENT_NOT_FOUND') {
    return withRef({
      message: `No patient with NHI ${cleanNhi(nhi)} was found in Medtech for this practice.`,
      hint: 'Check the number, or open the patient in Medtech Evolution and launch from there.',
    });
  }
  if (error.code === 'ERR_GATEWAY_UNREACHABLE') {
    return withRef({ message: 'ClinicPro cannot reach the internet service right now, so the patient cannot be looked up.', hint: 'Try again in a moment.' });
  }
  if (error.code === 'ERR_ALEX_UNAVAILABLE') {
    return withRef({
      message: "The practice's Medtech connection is offline (the PC that links Medtech to the cloud may be asleep), so the patient cannot be looked up.",
      hint: 'Try again in a moment.',
    });
  }
  if (BUSY_CODES.has(error.code)) return withRef({ message: 'Medtech could not answer the search right now.', hint: 'Try again in a moment.' });
  if (error.action === 'enrol') return withRef({ message: error.message, hint: 'Ask your practice IT contact to enrol this PC again.' });
  if (error.action === 'support') return withRef({ message: error.message, hint: 'If this keeps happening, call ClinicPro support.' });
  return withRef({ message: error.message });
}

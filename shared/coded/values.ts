/**
 * Coded clinical values attached to an image. Sent to ALEX as codings *and* as plain text,
 * because Medtech does not show Media metadata fields in its Inbox.
 */

export const SNOMED_SYSTEM = 'http://snomed.info/sct';

export interface BodySite {
  readonly code: string;
  readonly display: string;
  /** Words a GP might type to find it. */
  readonly synonyms?: readonly string[];
  /** Shown first in the picker. */
  readonly favourite?: boolean;
  /** Whether left/right makes sense for this site. */
  readonly lateral?: boolean;
}

const site = (code: string, display: string, opts: Omit<BodySite, 'code' | 'display'> = {}): BodySite => ({ code, display, ...opts });

/**
 * A curated list of SNOMED CT body structures common in general-practice photography. Every code is a concept id
 * (partition 00, Verhoeff check digit: gateway/src/sandbox/strict.test.ts checks each): a code that is not is never
 * sent as a coding by the builders.
 */
export const BODY_SITES: readonly BodySite[] = [
  site('69536005', 'Head', { synonyms: ['cranium'] }),
  site('41695006', 'Scalp', { favourite: true }),
  site('89545001', 'Face', { favourite: true }),
  site('52795006', 'Forehead'),
  site('81745001', 'Eye', { lateral: true }),
  site('80243003', 'Eyelid', { lateral: true }),
  site('45206002', 'Nose', { synonyms: ['nasal'] }),
  site('60819002', 'Cheek', { lateral: true }),
  site('117590005', 'Ear', { lateral: true, synonyms: ['pinna', 'auricle'] }),
  site('48477009', 'Lip', { synonyms: ['lips'] }),
  site('123851003', 'Mouth', { synonyms: ['oral'] }),
  site('21974007', 'Tongue'),
  site('38199008', 'Tooth', { synonyms: ['teeth', 'dental'] }),
  site('30291003', 'Chin'),
  site('45048000', 'Neck'),
  site('22943007', 'Trunk', { synonyms: ['torso'] }),
  site('78904004', 'Chest wall', { favourite: true, synonyms: ['chest', 'thorax'] }),
  site('56873002', 'Sternum', { synonyms: ['breastbone'] }),
  site('76752008', 'Breast', { lateral: true }),
  site('34797008', 'Axilla', { lateral: true, synonyms: ['armpit'] }),
  site('113345001', 'Abdomen', { favourite: true, synonyms: ['belly', 'stomach', 'tummy'] }),
  site('58602004', 'Flank', { lateral: true, synonyms: ['side'] }),
  site('77568009', 'Back', { favourite: true }),
  site('37822005', 'Lower back', { synonyms: ['lumbar'] }),
  site('54735007', 'Sacrum', { synonyms: ['sacral', 'pressure injury'] }),
  site('64688005', 'Coccyx', { synonyms: ['tailbone'] }),
  site('46862004', 'Buttock', { lateral: true, synonyms: ['gluteal'] }),
  site('38864007', 'Perineum'),
  site('53505006', 'Anus', { synonyms: ['perianal'] }),
  site('26893007', 'Groin', { lateral: true, synonyms: ['inguinal'] }),
  site('53120007', 'Arm (whole upper limb)', { lateral: true, synonyms: ['upper limb'] }),
  site('16982005', 'Shoulder', { lateral: true }),
  site('40983000', 'Upper arm', { lateral: true }),
  site('127949000', 'Elbow', { lateral: true }),
  site('14975008', 'Forearm', { favourite: true, lateral: true }),
  site('8205005', 'Wrist', { lateral: true }),
  site('85562004', 'Hand', { favourite: true, lateral: true }),
  site('21547004', 'Palm', { lateral: true }),
  site('63125000', 'Back of hand', { lateral: true, synonyms: ['dorsum of hand'] }),
  site('7569003', 'Finger', { lateral: true, synonyms: ['digit'] }),
  site('76505004', 'Thumb', { lateral: true }),
  site('72651009', 'Nail', { lateral: true, synonyms: ['fingernail', 'toenail'] }),
  site('61685007', 'Leg (whole lower limb)', { lateral: true, synonyms: ['lower limb'] }),
  site('29836001', 'Hip', { lateral: true }),
  site('68367000', 'Thigh', { lateral: true }),
  site('72696002', 'Knee', { favourite: true, lateral: true }),
  site('30021000', 'Lower leg', { favourite: true, lateral: true, synonyms: ['shin', 'leg ulcer'] }),
  site('53840002', 'Calf', { lateral: true }),
  site('344001', 'Ankle', { lateral: true }),
  site('56459004', 'Foot', { favourite: true, lateral: true }),
  site('7769000', 'Top of foot', { lateral: true, synonyms: ['dorsum of foot'] }),
  site('57999000', 'Sole of foot', { lateral: true, synonyms: ['plantar'] }),
  site('76853006', 'Heel', { lateral: true }),
  site('29707007', 'Toe', { lateral: true }),
  site('78883009', 'Big toe', { lateral: true, synonyms: ['great toe', 'hallux'] }),
  site('39937001', 'Skin (site not listed)', { synonyms: ['skin'] }),
];

export const LATERALITIES = [
  { code: '7771000', display: 'Left', key: 'left' },
  { code: '24028007', display: 'Right', key: 'right' },
  { code: '51440002', display: 'Both sides', key: 'bilateral' },
] as const;
export type LateralityKey = (typeof LATERALITIES)[number]['key'];

export const VIEWS = [
  { key: 'overview', display: 'Overview' },
  { key: 'close-up', display: 'Close-up' },
  { key: 'dermoscopy', display: 'Dermoscopy' },
  { key: 'other', display: 'Other view' },
] as const;
export type ViewKey = (typeof VIEWS)[number]['key'];

export const IMAGE_TYPES = [
  { key: 'wound', display: 'Wound' },
  { key: 'lesion', display: 'Lesion' },
  { key: 'rash', display: 'Rash' },
  { key: 'post-operative', display: 'Post-operative' },
  { key: 'other', display: 'Other' },
] as const;
export type ImageTypeKey = (typeof IMAGE_TYPES)[number]['key'];

/**
 * The patient's consent to the photo, recorded by the GP or nurse: given aloud, given in writing, or not
 * needed (e.g. the patient cannot be identified from it, or it is needed for their immediate care).
 */
export const CONSENTS = [
  { key: 'verbal', display: 'Verbal' },
  { key: 'written', display: 'Written' },
  { key: 'not-needed', display: 'Not needed' },
] as const;
export type ConsentKey = (typeof CONSENTS)[number]['key'];

export function findBodySite(code: string): BodySite | undefined {
  return BODY_SITES.find((s) => s.code === code);
}

/** Case-insensitive search over display names and synonyms, favourites first. */
export function searchBodySites(query: string, limit = 20): BodySite[] {
  const q = query.trim().toLowerCase();
  const hits = q
    ? BODY_SITES.filter((s) => s.display.toLowerCase().includes(q) || (s.synonyms ?? []).some((w) => w.includes(q)))
    : [...BODY_SITES];
  return hits.sort((a, b) => Number(b.favourite ?? false) - Number(a.favourite ?? false)).slice(0, limit);
}

function displayOf<K extends string>(list: readonly { key: K; display: string }[], key: K): string {
  return list.find((x) => x.key === key)?.display ?? key;
}
export const lateralityDisplay = (key: LateralityKey): string => displayOf(LATERALITIES, key);
export const viewDisplay = (key: ViewKey): string => displayOf(VIEWS, key);
export const imageTypeDisplay = (key: ImageTypeKey): string => displayOf(IMAGE_TYPES, key);
export const consentDisplay = (key: ConsentKey): string => displayOf(CONSENTS, key);
/** The readable words that travel into Medtech's title, e.g. "consent: verbal", "consent: not needed". */
export function consentWords(key: ConsentKey): string {
  return `consent: ${consentDisplay(key).toLowerCase()}`;
}

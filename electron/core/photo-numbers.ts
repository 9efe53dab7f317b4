/**
 * One number and one name per phone photo, everywhere: the PC numbers a phone's photos when the phone holds them
 * ("Photo 3"), per capture session (one patient), across every phone and phone session of that patient. The
 * same words then show on the phone, the desktop card, the preview, the outbox and the Medtech title.
 */
export class PhotoNumbers {
  private readonly next = new Map<string, number>();

  /** The next `count` numbers of a capture session (1, 2, 3… per session). */
  take(sessionRef: string, count: number): number[] {
    const first = (this.next.get(sessionRef) ?? 0) + 1;
    this.next.set(sessionRef, first + count - 1);
    return Array.from({ length: count }, (_, i) => first + i);
  }

  /**
   * The label of a phone photo: its held number, or the next number of its session when the phone did not hold it
   * (an older page).
   */
  label(sessionRef: string, held: number | undefined): string {
    return phonePhotoLabel(held ?? (this.take(sessionRef, 1)[0] as number));
  }
}

export function phonePhotoLabel(n: number): string {
  return `Photo ${n}`;
}

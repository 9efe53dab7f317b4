/** What may be logged of an unexpected error: its kind, never its message (messages can carry file paths). */
export function errKind(err: unknown): { errType: string; code?: string } {
  const type = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? { errType: type, code } : { errType: type };
}

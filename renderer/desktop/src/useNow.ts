import { useEffect, useState } from 'react';

/** The clock for countdowns and ages: re-renders every `intervalMs` while `ticking` (display only). */
export function useNow(intervalMs = 1000, ticking = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return undefined;
    const t = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs, ticking]);
  return now;
}

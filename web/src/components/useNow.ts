/** The current time, refreshed every `intervalMs`: ages tick without a re-fetch. */
import { useEffect, useState } from 'react';

export function useNow(intervalMs = 5_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

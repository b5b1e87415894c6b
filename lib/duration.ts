/**
 * Durations in `shipline.yml` and scenario files are written the way people say them:
 * `90s`, `10m`, `1h`, `1h30m`. A bare number means seconds.
 */
const DURATION_PATTERN = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Parses a human duration (`10m`, `1h30m`, `45s`, `120`) into whole seconds, or returns undefined. */
export const parseDurationSeconds = (value: string | number): number | undefined => {
  // Whole seconds only, and only values arithmetic stays exact on: `1.5s`, `1e400` (Infinity) and
  // 20-digit numbers are not durations.
  const whole = (seconds: number): number | undefined =>
    Number.isSafeInteger(seconds) && seconds >= 0 ? seconds : undefined;
  if (typeof value === 'number') return whole(value);
  const text = value.trim();
  if (/^\d+$/.test(text)) return whole(Number(text));
  const match = DURATION_PATTERN.exec(text);
  if (!match || text === '') return undefined;
  const [, hours, minutes, seconds] = match;
  return whole(Number(hours ?? 0) * 3600 + Number(minutes ?? 0) * 60 + Number(seconds ?? 0));
};

/** Formats seconds as the shortest readable duration: `10m`, `1h5m`, `45s`, `0s`. */
export const formatDuration = (totalSeconds: number): string => {
  const seconds = Math.round(totalSeconds);
  if (seconds === 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
};

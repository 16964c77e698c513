import type { GptLoadHourlyStat, GptLoadRequestLog, GptLoadSnapshot } from '../types';

/** Drains a snapshot's log and stat iterators into arrays (tests and small databases only). */
export async function collectGptLoadRows(
  snapshot: GptLoadSnapshot,
): Promise<{ requestLogs: GptLoadRequestLog[]; hourlyStats: GptLoadHourlyStat[] }> {
  const requestLogs: GptLoadRequestLog[] = [];
  for await (const l of snapshot.requestLogs()) requestLogs.push(l);
  const hourlyStats: GptLoadHourlyStat[] = [];
  for await (const s of snapshot.hourlyStats()) hourlyStats.push(s);
  return { requestLogs, hourlyStats };
}

import { describe, expect, it } from 'vitest';
import { parseShellTimes, parseWrkResult, WRK_RESULT_MARK } from './wrk-output';

// What `wrk -t2 -c64 -d10s -s script.lua URL` prints: its own summary, then our done() line.
const WRK_STDOUT = `Running 10s test @ http://127.0.0.1:40123/v1/chat/completions
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.01ms    1.20ms  41.33ms   91.02%
    Req/Sec     4.58k   312.45     5.10k    78.50%
  91234 requests in 10.01s, 60.12MB read
Requests/sec:   9114.29
Transfer/sec:      6.01MB
${WRK_RESULT_MARK}{"requests":91234,"duration_us":10010000,"bytes":63040000,"p50_us":6870,"p90_us":8120,"p99_us":11450,"max_us":41330,"mean_us":7012.4,"non2xx":3,"err_connect":0,"err_read":2,"err_write":1,"err_timeout":4}
`;

describe('reading a wrk run', () => {
  it('turns the done() line into requests per second and latency in milliseconds', () => {
    const r = parseWrkResult(WRK_STDOUT);
    expect(r.requests).toBe(91234);
    expect(r.durationSec).toBeCloseTo(10.01, 6);
    expect(r.rps).toBeCloseTo(9114.29, 1);
    expect(r.p50Ms).toBeCloseTo(6.87, 6);
    expect(r.p90Ms).toBeCloseTo(8.12, 6);
    expect(r.p99Ms).toBeCloseTo(11.45, 6);
    expect(r.maxMs).toBeCloseTo(41.33, 6);
    expect(r.meanMs).toBeCloseTo(7.0124, 6);
  });

  it('counts error answers, socket errors and timeouts separately', () => {
    const r = parseWrkResult(WRK_STDOUT);
    expect(r.non2xx).toBe(3);
    expect(r.errors).toBe(3);
    expect(r.timeouts).toBe(4);
  });

  it('reports no rate rather than dividing by zero when wrk ran for no time', () => {
    const line = `${WRK_RESULT_MARK}{"requests":0,"duration_us":0,"bytes":0,"p50_us":0,"p90_us":0,"p99_us":0,"max_us":0,"mean_us":0,"non2xx":0,"err_connect":64,"err_read":0,"err_write":0,"err_timeout":0}`;
    expect(parseWrkResult(line).rps).toBe(0);
    expect(parseWrkResult(line).errors).toBe(64);
  });

  it('fails loudly, quoting wrk, when the result line is missing', () => {
    expect(() => parseWrkResult('unable to connect to 127.0.0.1:1 Connection refused\n')).toThrow(
      /no result line:\nunable to connect/,
    );
  });

  it('rejects a result line with a missing or non-numeric figure', () => {
    expect(() => parseWrkResult(`${WRK_RESULT_MARK}{"requests":1}`)).toThrow(/duration_us/);
    expect(() => parseWrkResult(WRK_STDOUT.replace('"p99_us":11450', '"p99_us":"11450"'))).toThrow(/p99_us/);
    expect(() => parseWrkResult(`${WRK_RESULT_MARK}{not json`)).toThrow(/not JSON/);
  });
});

describe("reading wrk's CPU time from the shell's times builtin", () => {
  it('adds user and system time of the children (dash format)', () => {
    expect(parseShellTimes('0m0.010000s 0m0.020000s\n0m3.250000s 0m1.500000s\n')).toBeCloseTo(4.75, 6);
  });

  it('handles minutes and the bash format, ignoring other stderr lines', () => {
    expect(parseShellTimes('some wrk warning\n0m0.001s 0m0.002s\n1m2.500s 0m0.500s\n')).toBeCloseTo(63, 6);
  });

  it('gives NaN when the times output is missing', () => {
    expect(parseShellTimes('')).toBeNaN();
    expect(parseShellTimes('0m0.010000s 0m0.020000s\n')).toBeNaN();
  });
});

import { describe, expect, it } from 'vitest';
import { STORM, StormGuard } from './storm-guard';
import { UPSTREAM_DOWN_AFTER_MS, UpstreamHealth } from './upstream-health';

describe('where the gateway raises group.storm and upstream.down', () => {
  it('tells onOpen each time a group’s storm circuit opens', () => {
    const opened: Array<[number, string, number]> = [];
    const guard = new StormGuard((groupId, cls, ms) => opened.push([groupId, cls, ms]));
    const t = 1_000_000;
    for (let k = 1; k <= 4; k++) guard.record(7, k, 'rate', 5, t + k);
    expect(opened).toEqual([[7, 'rate', STORM.openMs]]);
    // Half-open probe after the circuit closes again, failing the same way: it opens again, for longer.
    expect(guard.check(7, t + STORM.openMs + 10).open).toBe(false);
    guard.record(7, 1, 'rate', 5, t + STORM.openMs + 20);
    expect(opened).toEqual([
      [7, 'rate', STORM.openMs],
      [7, 'rate', STORM.openMs * 2],
    ]);
  });

  it('tells onDown once when an upstream has been failing for over a minute, again only after a success', () => {
    const down: Array<[string, number]> = [];
    const health = new UpstreamHealth((url, ms) => down.push([url, ms]));
    const url = 'https://api.example.com/v1';
    let t = 5_000_000;
    health.fail(url, t);
    health.fail(url, (t += 30_000), 'brief');
    health.fail(url, (t += 30_000));
    expect(down).toEqual([]);
    health.fail(url, (t += 1));
    expect(down).toEqual([[url, UPSTREAM_DOWN_AFTER_MS + 1]]);
    health.fail(url, (t += 60_000));
    expect(down).toHaveLength(1);
    health.succeed(url);
    health.fail(url, (t += 1));
    health.fail(url, (t += UPSTREAM_DOWN_AFTER_MS + 1));
    expect(down).toHaveLength(2);
  });
});

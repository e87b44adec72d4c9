import { describe, expect, it } from 'vitest';
import { niceTicks, renderPlotSvg } from '../../shared/simulate/plot.ts';

function series(replicas: number[], serving: number[]) {
  return { replicas: Int32Array.from(replicas), serving: Int32Array.from(serving) };
}

describe('renderPlotSvg', () => {
  it('draws a legend, both axes and a shortfall mark for each under-provisioned stretch', () => {
    // Prepare
    const demand = [10, 10, 100, 100, 10];
    const run = { label: 'policy web', series: series([1, 1, 1, 10, 10], [1, 1, 1, 1, 10]) };

    // Act
    const svg = renderPlotSvg({ title: 'trace <x>', firstMinute: 100, demand, perReplica: 10, runs: [run] });

    // Assess
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('trace &lt;x&gt;');
    expect(svg).toContain('demand (requests/min)');
    expect(svg).toContain('policy web: serving capacity, replicas');
    expect(svg).toContain('minute of trace');
    expect(svg).toContain('>replicas</text>');
    // minutes 2 and 3 are short (100 > 10 x 1 serving), minute 4 is not: one mark each
    expect(svg.match(/fill="#d62728"/g)).toHaveLength(2);
  });

  it('draws long traces in buckets and says so', () => {
    // Prepare
    const n = 20_000;
    const demand = Array.from({ length: n }, (_, i) => (i % 1000 < 500 ? 10 : 50));
    const run = { label: 'p', series: series(Array(n).fill(5), Array(n).fill(5)) };

    // Act
    const svg = renderPlotSvg({ title: 't', firstMinute: 0, demand, perReplica: 10, runs: [run] });

    // Assess
    expect(svg).toContain('each point covers 21 minutes');
    expect(svg).toContain('day of trace');
    expect(svg.length).toBeLessThan(400_000);
  });

  it('niceTicks gives round steps from 0 to at least the maximum', () => {
    // Act / Assess
    expect(niceTicks(409)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(niceTicks(18_006)).toEqual([0, 5000, 10000, 15000, 20000]);
    expect(niceTicks(3, true)).toEqual([0, 1, 2, 3]);
  });
});

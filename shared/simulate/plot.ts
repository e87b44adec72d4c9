/**
 * A hand-drawn SVG of a simulation (no dependency): demand against the serving capacity
 * (C × serving replicas) of each run, the minutes each run was under-provisioned, and the
 * replicas over time. Long traces are drawn in buckets of several minutes: demand as its range
 * (lowest to highest) and its average, capacity and replicas as averages, and the shortfall strip
 * shaded by the share of the bucket's minutes that were under-provisioned.
 */
import type { SimulationSeries } from './simulate.ts';

export interface PlotRun {
  readonly label: string;
  readonly series: SimulationSeries;
}

export interface PlotInput {
  readonly title: string;
  /** Trace minute number of the first point. */
  readonly firstMinute: number;
  /** Demand of the plotted minutes (same length as every run's series). */
  readonly demand: ArrayLike<number>;
  readonly perReplica: number;
  readonly runs: readonly PlotRun[];
}

const width = 1100;
const left = 120;
const right = 24;
const plotWidth = width - left - right;
const colors = ['#1f77b4', '#e6550d', '#2ca02c', '#9467bd'];
const dashes = ['', '7 4', '2 3', '10 3 2 3'];

export function renderPlotSvg(input: PlotInput): string {
  const n = input.demand.length;
  for (const run of input.runs) {
    if (run.series.replicas.length !== n) throw new RangeError(`run "${run.label}" has ${run.series.replicas.length} minutes, demand has ${n}`);
  }
  const bucket = Math.max(1, Math.ceil(n / plotWidth));
  const buckets = Math.ceil(n / bucket);
  const demandMin = new Float64Array(buckets).fill(Infinity);
  const demandMax = new Float64Array(buckets);
  const demandMean = new Float64Array(buckets);
  const capacityMean = input.runs.map(() => new Float64Array(buckets));
  const replicasMean = input.runs.map(() => new Float64Array(buckets));
  const shortShare = input.runs.map(() => new Float64Array(buckets));
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / bucket);
    const size = Math.min(bucket, n - b * bucket);
    const d = input.demand[i]!;
    if (d > demandMax[b]!) demandMax[b] = d;
    if (d < demandMin[b]!) demandMin[b] = d;
    demandMean[b]! += d / size;
    input.runs.forEach((run, r) => {
      const capacity = run.series.serving[i]! * input.perReplica;
      capacityMean[r]![b]! += capacity / size;
      replicasMean[r]![b]! += run.series.replicas[i]! / size;
      if (d > capacity) shortShare[r]![b]! += 1 / size;
    });
  }

  const legendTop = 44;
  const topY0 = 84;
  const topHeight = 300;
  const stripTop = topY0 + topHeight + 62;
  const stripHeight = 9;
  const bottomY0 = stripTop + input.runs.length * (stripHeight + 5) + 30;
  const bottomHeight = 170;
  const height = bottomY0 + bottomHeight + 64;

  const x = (b: number) => left + (b / buckets) * plotWidth;
  const requestsMax = Math.max(1, ...demandMax, ...capacityMean.flatMap((c) => [...c]));
  const requestTicks = niceTicks(requestsMax);
  const yTop = (v: number) => topY0 + topHeight - (v / requestTicks.at(-1)!) * topHeight;
  const replicasTop = Math.max(1, ...replicasMean.flatMap((r) => [...r]));
  const replicaTicks = niceTicks(replicasTop, true);
  const yBottom = (v: number) => bottomY0 + bottomHeight - (v / replicaTicks.at(-1)!) * bottomHeight;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">${escapeXml(input.title)}</text>`);

  // Legend.
  let lx = left;
  out.push(`<rect x="${lx}" y="${legendTop - 9}" width="18" height="10" fill="#d9d9d9" stroke="#7f7f7f"/>`);
  out.push(`<text x="${lx + 24}" y="${legendTop}">demand (requests/min)</text>`);
  lx += 175;
  input.runs.forEach((run, r) => {
    out.push(`<line x1="${lx}" y1="${legendTop - 4}" x2="${lx + 22}" y2="${legendTop - 4}" stroke="${colors[r % colors.length]}" stroke-width="2.5" stroke-dasharray="${dashes[r % dashes.length]}"/>`);
    const text = `${run.label}: serving capacity, replicas`;
    out.push(`<text x="${lx + 28}" y="${legendTop}">${escapeXml(text)}</text>`);
    lx += 40 + text.length * 6.4;
  });
  if (bucket > 1) {
    out.push(
      `<text x="${left}" y="${legendTop + 20}" fill="#555">each point covers ${bucket} minutes: shaded band = lowest to highest demand, lines = averages; strip darkness = share of minutes under-provisioned</text>`,
    );
  }

  // Top panel: demand and serving capacity.
  out.push(...gridAndYAxis(requestTicks, yTop, 'requests / minute', topY0, topHeight));
  const band: string[] = [];
  for (let b = 0; b < buckets; b++) band.push(`${b === 0 ? 'M' : 'L'} ${x(b).toFixed(1)} ${yTop(demandMax[b]!).toFixed(1)} L ${x(b + 1).toFixed(1)} ${yTop(demandMax[b]!).toFixed(1)}`);
  for (let b = buckets - 1; b >= 0; b--) band.push(`L ${x(b + 1).toFixed(1)} ${yTop(demandMin[b]!).toFixed(1)} L ${x(b).toFixed(1)} ${yTop(demandMin[b]!).toFixed(1)}`);
  out.push(`<path d="${band.join(' ')} Z" fill="#d9d9d9" stroke="${bucket > 1 ? 'none' : '#7f7f7f'}" stroke-width="0.8"/>`);
  if (bucket > 1) out.push(stepPath(demandMean, x, yTop, '#7f7f7f', ''));
  input.runs.forEach((_, r) => {
    out.push(stepPath(capacityMean[r]!, x, yTop, colors[r % colors.length]!, dashes[r % dashes.length]!));
  });
  out.push(...xAxis(input.firstMinute, n, topY0 + topHeight));

  // Strips: minutes under-provisioned, one row per run.
  out.push(`<text x="${left}" y="${stripTop - 8}" font-weight="bold">under-provisioned (demand &gt; C × serving replicas)</text>`);
  input.runs.forEach((run, r) => {
    const y = stripTop + r * (stripHeight + 5);
    out.push(`<rect x="${left}" y="${y}" width="${plotWidth}" height="${stripHeight}" fill="#f4f4f4"/>`);
    out.push(`<text x="${left - 6}" y="${y + stripHeight - 1}" text-anchor="end" font-size="10">${escapeXml(shorten(run.label, 20))}</text>`);
    for (let b = 0; b < buckets; b++) {
      const share = shortShare[r]![b]!;
      if (share === 0) continue;
      // A single short minute must stay visible: at least 25% opacity.
      const opacity = bucket === 1 ? 1 : 0.25 + 0.75 * share;
      out.push(`<rect x="${x(b).toFixed(1)}" y="${y}" width="${Math.max(1, x(b + 1) - x(b)).toFixed(1)}" height="${stripHeight}" fill="#d62728" fill-opacity="${opacity.toFixed(2)}"/>`);
    }
  });

  // Bottom panel: replicas.
  out.push(...gridAndYAxis(replicaTicks, yBottom, 'replicas', bottomY0, bottomHeight));
  input.runs.forEach((_, r) => {
    out.push(stepPath(replicasMean[r]!, x, yBottom, colors[r % colors.length]!, dashes[r % dashes.length]!));
  });
  out.push(...xAxis(input.firstMinute, n, bottomY0 + bottomHeight));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function stepPath(values: Float64Array, x: (b: number) => number, y: (v: number) => number, color: string, dash: string): string {
  const parts: string[] = [];
  for (let b = 0; b < values.length; b++) {
    const v = Number.isFinite(values[b]!) ? values[b]! : 0;
    parts.push(`${b === 0 ? 'M' : 'L'} ${x(b).toFixed(1)} ${y(v).toFixed(1)} L ${x(b + 1).toFixed(1)} ${y(v).toFixed(1)}`);
  }
  return `<path d="${parts.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6" stroke-dasharray="${dash}" stroke-linejoin="round"/>`;
}

function gridAndYAxis(ticks: number[], y: (v: number) => number, label: string, top: number, height: number): string[] {
  const out: string[] = [];
  for (const tick of ticks) {
    out.push(`<line x1="${left}" y1="${y(tick).toFixed(1)}" x2="${left + plotWidth}" y2="${y(tick).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${formatTick(tick)}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + height}" stroke="#333"/>`);
  const cy = top + height / 2;
  out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${label}</text>`);
  return out;
}

/** X axis in the trace's minutes, labelled in minutes, hours or days depending on the span. */
function xAxis(firstMinute: number, minutes: number, y: number): string[] {
  const unit = minutes > 3 * 1440 ? { size: 1440, name: 'day' } : minutes > 6 * 60 ? { size: 60, name: 'hour' } : { size: 1, name: 'minute' };
  const startUnits = firstMinute / unit.size;
  const endUnits = (firstMinute + minutes) / unit.size;
  const step = niceStep((endUnits - startUnits) / 10);
  const out = [`<line x1="${left}" y1="${y}" x2="${left + plotWidth}" y2="${y}" stroke="#333"/>`];
  for (let u = Math.ceil(startUnits / step) * step; u <= endUnits + 1e-9; u += step) {
    const px = left + ((u - startUnits) / (endUnits - startUnits)) * plotWidth;
    out.push(`<line x1="${px.toFixed(1)}" y1="${y}" x2="${px.toFixed(1)}" y2="${y + 5}" stroke="#333"/>`);
    out.push(`<text x="${px.toFixed(1)}" y="${y + 18}" text-anchor="middle">${(Math.round(u * 1000) / 1000).toLocaleString('en-US')}</text>`);
  }
  out.push(`<text x="${left + plotWidth / 2}" y="${y + 36}" text-anchor="middle">${unit.name} of trace</text>`);
  return out;
}

/** 0 and about five round steps up to at least max. */
export function niceTicks(max: number, integers = false): number[] {
  let step = niceStep(max / 5);
  if (integers) step = Math.max(1, Math.round(step));
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) {
    ticks.push(v);
    if (v >= max) break;
  }
  return ticks;
}

function niceStep(rough: number): number {
  if (!(rough > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function formatTick(v: number): string {
  const rounded = Math.round(v * 1000) / 1000;
  return Math.abs(rounded) >= 10_000 ? `${rounded / 1000}k` : String(rounded);
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

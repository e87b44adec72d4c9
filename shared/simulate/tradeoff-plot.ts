/**
 * A hand-drawn SVG of a parameter sweep (no dependency): under-provisioned minutes against
 * replica-minutes, one point per value, joined in sweep order, with the HPA baseline marked and
 * the region issue 12 aims at (at most half the HPA's under-provisioned minutes at no more of its
 * replica-minutes) shaded. Operators choose their own risk from it.
 */
import { niceTicks } from './plot.ts';

export interface TradeoffPoint {
  readonly label: string;
  readonly replicaMinutes: number;
  readonly underProvisionedMinutes: number;
}

export interface TradeoffInput {
  readonly title: string;
  readonly param: string;
  /** One series per trace (or per policy), each with its points in sweep order and its baseline. */
  readonly series: ReadonlyArray<{ readonly name: string; readonly points: readonly TradeoffPoint[]; readonly baseline?: TradeoffPoint }>;
}

const colors = ['#1f77b4', '#e6550d', '#2ca02c', '#9467bd'];
const panelWidth = 800;
const panelHeight = 380;
const margin = { left: 80, right: 24, top: 100, bottom: 56 };

/** One panel per series side by side (the traces' scales differ by orders of magnitude). */
export function renderTradeoffSvg(input: TradeoffInput): string {
  const width = input.series.length * (panelWidth + margin.left + margin.right);
  const height = panelHeight + margin.top + margin.bottom;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="12" y="22" font-size="15">${escapeXml(input.title)}</text>`,
    `<text x="12" y="44" fill="#555">x: replica-minutes (cost), y: under-provisioned minutes (risk); one point per ${escapeXml(input.param)}=value.</text>`,
    `<text x="12" y="62" fill="#555">◆ the HPA baseline; shaded: at most 0.5× its under-provisioned minutes at no more than its replica-minutes.</text>`,
  ];
  input.series.forEach((series, s) => {
    const x0 = s * (panelWidth + margin.left + margin.right) + margin.left;
    const all = series.baseline ? [...series.points, series.baseline] : [...series.points];
    const xs = all.map((p) => p.replicaMinutes);
    const ys = all.map((p) => p.underProvisionedMinutes);
    const xMin = Math.min(...xs) * 0.97;
    const xMax = Math.max(...xs) * 1.03;
    const yTicks = niceTicks(Math.max(1, ...ys) * 1.05, true);
    const yMax = yTicks[yTicks.length - 1]!;
    const x = (v: number) => x0 + ((v - xMin) / (xMax - xMin || 1)) * panelWidth;
    const y = (v: number) => margin.top + panelHeight - (v / yMax) * panelHeight;
    const color = colors[s % colors.length]!;
    out.push(`<text x="${x0}" y="${margin.top - 10}" font-size="13" font-weight="bold">${escapeXml(series.name)}</text>`);
    for (const tick of yTicks) {
      out.push(`<line x1="${x0}" y1="${y(tick).toFixed(1)}" x2="${x0 + panelWidth}" y2="${y(tick).toFixed(1)}" stroke="#eee"/>`);
      out.push(`<text x="${x0 - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${tick.toLocaleString('en-US')}</text>`);
    }
    for (let i = 0; i <= 4; i++) {
      const v = xMin + ((xMax - xMin) * i) / 4;
      out.push(`<text x="${x(v).toFixed(1)}" y="${margin.top + panelHeight + 18}" text-anchor="middle">${Math.round(v).toLocaleString('en-US')}</text>`);
    }
    out.push(`<rect x="${x0}" y="${margin.top}" width="${panelWidth}" height="${panelHeight}" fill="none" stroke="#333"/>`);
    out.push(`<text x="${x0 + panelWidth / 2}" y="${margin.top + panelHeight + 40}" text-anchor="middle">replica-minutes</text>`);
    const cy = margin.top + panelHeight / 2;
    out.push(`<text x="${x0 - 58}" y="${cy}" text-anchor="middle" transform="rotate(-90 ${x0 - 58} ${cy})">under-provisioned minutes</text>`);
    if (series.baseline) {
      const b = series.baseline;
      const goalRight = Math.min(x(b.replicaMinutes), x0 + panelWidth);
      const goalTop = y(b.underProvisionedMinutes * 0.5);
      if (goalRight > x0) out.push(`<rect x="${x0}" y="${goalTop.toFixed(1)}" width="${(goalRight - x0).toFixed(1)}" height="${(margin.top + panelHeight - goalTop).toFixed(1)}" fill="#2ca02c" fill-opacity="0.08"/>`);
      const bx = x(b.replicaMinutes);
      const by = y(b.underProvisionedMinutes);
      out.push(`<path d="M ${bx.toFixed(1)} ${(by - 7).toFixed(1)} L ${(bx + 7).toFixed(1)} ${by.toFixed(1)} L ${bx.toFixed(1)} ${(by + 7).toFixed(1)} L ${(bx - 7).toFixed(1)} ${by.toFixed(1)} Z" fill="#333"/>`);
      out.push(`<text x="${(bx + 10).toFixed(1)}" y="${(by - 8).toFixed(1)}">${escapeXml(b.label)}</text>`);
    }
    const path = series.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${x(p.replicaMinutes).toFixed(1)} ${y(p.underProvisionedMinutes).toFixed(1)}`).join(' ');
    if (series.points.length > 1) out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    for (const p of series.points) {
      const px = x(p.replicaMinutes);
      const py = y(p.underProvisionedMinutes);
      out.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4" fill="${color}"/>`);
      out.push(`<text x="${(px + 6).toFixed(1)}" y="${(py + 14).toFixed(1)}" fill="${color}">${escapeXml(p.label)}</text>`);
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

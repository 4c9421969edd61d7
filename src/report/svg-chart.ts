/**
 * Small line charts as inline SVG strings — no library, no script, no network — so the HTML report
 * is one self-contained file that opens anywhere (CI artifacts, mail attachments).
 */
import { escapeXml } from './xml-text.js';

export interface ChartSeries {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  /** Draw as steps (counts sampled at intervals) instead of straight segments. */
  step?: boolean;
  dashed?: boolean;
}

export interface ChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Logarithmic x axis (latency CDFs span 5 ms … 30 s). */
  xLog?: boolean;
  yMax?: number;
  /** Horizontal reference line, e.g. the objective or the plan limit. */
  yReference?: { value: number; label: string };
  /** Vertical reference line, e.g. the latency threshold. */
  xReference?: { value: number; label: string };
  width?: number;
  height?: number;
}

export const PATH_COLORS: Record<string, string> = {
  postgres_changes: '#1f77b4',
  broadcast: '#ff7f0e',
  polling: '#2ca02c',
};

/** 1, 2, 5 × 10^n ticks covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max + step * 1e-9; value += step) {
    ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let exponent = Math.floor(Math.log10(min)); exponent <= Math.ceil(Math.log10(max)); exponent++) {
    for (const mantissa of [1, 2, 5]) {
      const value = mantissa * 10 ** exponent;
      if (value >= min && value <= max) ticks.push(Number(value.toPrecision(12)));
    }
  }
  return ticks;
}

function formatTick(value: number): string {
  if (value >= 1000 && value % 1000 === 0) return `${value / 1000}k`;
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

export function renderLineChart(options: ChartOptions): string {
  const width = options.width ?? 720;
  const height = options.height ?? 300;
  const margin = { left: 64, right: 20, top: 40, bottom: 48 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const all = options.series.flatMap((series) => series.points);
  const open = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${escapeXml(options.id)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(options.title)}">`;
  const title = `<text class="title" x="${margin.left}" y="18">${escapeXml(options.title)}</text>`;
  if (all.length === 0) {
    return `${open}${title}<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`;
  }

  const xs = all.map(([x]) => x).filter((x) => !options.xLog || x > 0);
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs, options.xReference?.value ?? -Infinity);
  if (options.xLog) {
    xMin = Math.max(0.1, Math.min(xMin, options.xReference?.value ?? xMin));
    // Room to the right of a reference line so its label is not clipped.
    xMax = Math.max(xMax, xMin * 10, (options.xReference?.value ?? 0) * 1.6);
  } else if (xMax === xMin) {
    xMax = xMin + 1;
  }
  const yMax = options.yMax ?? Math.max(1, ...all.map(([, y]) => y), options.yReference?.value ?? 0) * 1.1;
  const xPos = (x: number): number => {
    const fraction = options.xLog
      ? (Math.log10(Math.max(x, xMin)) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))
      : (x - xMin) / (xMax - xMin);
    return margin.left + fraction * plotWidth;
  };
  const yPos = (y: number): number => margin.top + plotHeight - (y / yMax) * plotHeight;
  const f = (n: number): string => n.toFixed(1);

  const parts: string[] = [open, title];
  // Grid and axes.
  for (const tick of niceTicks(0, yMax)) {
    parts.push(
      `<line class="grid" x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${f(yPos(tick))}" y2="${f(yPos(tick))}"/>`,
      `<text class="tick" x="${margin.left - 6}" y="${f(yPos(tick) + 4)}" text-anchor="end">${formatTick(tick)}</text>`,
    );
  }
  for (const tick of options.xLog ? logTicks(xMin, xMax) : niceTicks(xMin, xMax, 8)) {
    parts.push(
      `<line class="grid" x1="${f(xPos(tick))}" x2="${f(xPos(tick))}" y1="${margin.top}" y2="${margin.top + plotHeight}"/>`,
      `<text class="tick" x="${f(xPos(tick))}" y="${margin.top + plotHeight + 16}" text-anchor="middle">${formatTick(tick)}</text>`,
    );
  }
  parts.push(
    `<rect class="frame" x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}"/>`,
    `<text class="axis" x="${margin.left + plotWidth / 2}" y="${height - 8}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text class="axis" transform="translate(14 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.yReference) {
    const y = f(yPos(options.yReference.value));
    parts.push(
      `<line class="reference" x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${y}" y2="${y}"/>`,
      `<text class="reference-label" x="${margin.left + plotWidth - 4}" y="${Number(y) - 4}" text-anchor="end">${escapeXml(options.yReference.label)}</text>`,
    );
  }
  if (options.xReference) {
    const x = f(xPos(options.xReference.value));
    parts.push(
      `<line class="reference" x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotHeight}"/>`,
      `<text class="reference-label" x="${Number(x) + 4}" y="${margin.top + 12}">${escapeXml(options.xReference.label)}</text>`,
    );
  }
  // Series.
  options.series.forEach((series, index) => {
    if (series.points.length > 0) {
      const commands: string[] = [];
      series.points.forEach(([x, y], i) => {
        const px = f(xPos(x));
        const py = f(yPos(y));
        if (i === 0) commands.push(`M${px} ${py}`);
        else if (series.step) commands.push(`H${px} V${py}`);
        else commands.push(`L${px} ${py}`);
      });
      parts.push(
        `<path class="series" data-series="${escapeXml(series.name)}" d="${commands.join(' ')}" stroke="${series.color}"${
          series.dashed ? ' stroke-dasharray="6 4"' : ''
        }/>`,
      );
    }
    const lx = margin.left + index * 170;
    parts.push(
      `<rect x="${lx}" y="26" width="12" height="4" fill="${series.color}"/>`,
      `<text class="legend" x="${lx + 16}" y="32">${escapeXml(series.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Empirical CDF points (x = value, y = fraction ≤ x), thinned to at most `maxPoints`. */
export function cdfPoints(samples: readonly number[], maxPoints = 400): [number, number][] {
  if (samples.length === 0) return [];
  const sorted = [...samples].sort((a, b) => a - b);
  const stride = Math.max(1, Math.floor(sorted.length / maxPoints));
  const points: [number, number][] = [];
  for (let i = 0; i < sorted.length; i += stride) points.push([sorted[i] as number, (i + 1) / sorted.length]);
  const last = sorted[sorted.length - 1] as number;
  if (points[points.length - 1]?.[0] !== last || points[points.length - 1]?.[1] !== 1) points.push([last, 1]);
  return points;
}

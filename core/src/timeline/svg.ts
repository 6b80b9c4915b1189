import type { JobView } from '../protocol/api.js';
import type { TimelineLayout, TimelinePhase } from './layout.js';

export interface TimelineSvgOptions {
  /** The picture's width in pixels (default 1000). */
  width?: number;
  /** Shown above the chart, e.g. the run id. */
  title?: string;
}

/** The colour of a bar's part: waiting and pulling by phase, running by how the job ended (or runs). */
export const TIMELINE_COLOURS: Record<Exclude<TimelinePhase, 'running'> | JobView['state'], string> = {
  queued: '#d0d7de',
  pulling: '#e3a008',
  pending: '#d0d7de',
  assigned: '#e3a008',
  running: '#2f6fde',
  done: '#2da44e',
  failed: '#cf222e',
  aborted: '#6e7781',
  blocked: '#d0d7de',
  skipped: '#8c959f',
};

const LABEL_WIDTH = 190;
const RIGHT = 20;
const ROW = 12;
const ROW_GAP = 3;
const LANE_HEAD = 20;
const LANE_GAP = 8;
const AXIS = 24;
const CHART = 64;
const FONT = 'font-family="sans-serif" font-size="11"';

/**
 * The timeline as a standalone SVG document: presentation attributes only (no style element or attribute, so a
 * page with a strict content security policy can put it inline), every text escaped, a tooltip per bar.
 */
export function timelineSvg(layout: TimelineLayout, options: TimelineSvgOptions = {}): string {
  const width = Math.max(400, options.width ?? 1000);
  const plotWidth = width - LABEL_WIDTH - RIGHT;
  const span = Math.max(1, layout.end - layout.start);
  const x = (at: number) => round(LABEL_WIDTH + ((at - layout.start) / span) * plotWidth);
  const parts: string[] = [];
  let y = 8;

  if (options.title) {
    parts.push(`<text x="8" y="${y + 12}" ${FONT} font-size="13" font-weight="bold">${escape(options.title)}</text>`);
    y += 20;
  }
  parts.push(legend(y));
  y += 22;
  const plotTop = y;

  for (const lane of layout.lanes) {
    const name = lane.agentId ?? 'not placed yet';
    const height = LANE_HEAD + lane.rows * (ROW + ROW_GAP);
    parts.push(`<g class="lane" data-agent="${escape(lane.agentId ?? '')}">`);
    parts.push(`<rect x="0" y="${y}" width="${width}" height="${height}" fill="#f6f8fa"/>`);
    parts.push(`<text x="8" y="${y + 14}" ${FONT} font-weight="bold">${escape(name)}</text>`);
    parts.push(`<text x="8" y="${y + 28}" ${FONT} fill="#57606a">${lane.bars.length} job${lane.bars.length === 1 ? '' : 's'}</text>`);
    for (const bar of lane.bars) {
      const top = y + LANE_HEAD + bar.row * (ROW + ROW_GAP);
      parts.push(`<g class="bar" data-job="${escape(bar.job)}" data-state="${bar.state}"><title>${escape(bar.summary)}</title>`);
      for (const segment of bar.segments) {
        const colour = segment.phase === 'running' ? TIMELINE_COLOURS[bar.state] : TIMELINE_COLOURS[segment.phase];
        const left = x(segment.from);
        const w = Math.max(1, round(x(segment.to) - left));
        parts.push(`<rect data-phase="${segment.phase}" x="${left}" y="${top}" width="${w}" height="${ROW}" rx="2" fill="${colour}"/>`);
      }
      parts.push('</g>');
    }
    parts.push('</g>');
    y += height + LANE_GAP;
  }
  const plotBottom = y;

  // The time axis: light lines across the lanes, labels below, in time since the run began.
  const ticks = tickTimes(span, plotWidth);
  parts.push('<g class="axis">');
  for (const tick of ticks) {
    const at = x(layout.start + tick);
    parts.push(`<line x1="${at}" y1="${plotTop}" x2="${at}" y2="${plotBottom}" stroke="#afb8c1" stroke-width="0.5"/>`);
    parts.push(`<text x="${at}" y="${plotBottom + 14}" ${FONT} text-anchor="middle" fill="#57606a">${formatOffset(tick)}</text>`);
  }
  parts.push('</g>');
  y = plotBottom + AXIS;

  y = stepChart(parts, 'cpus', 'cpus in use', layout.cpus, layout.maxCpus, TIMELINE_COLOURS.running, y, x, layout.end);
  y = stepChart(parts, 'queued', 'jobs queued', layout.queued, layout.maxQueued, '#8c959f', y, x, layout.end);

  const height = y + 8;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function legend(y: number): string {
  const entries: [string, string][] = [
    ['queued', TIMELINE_COLOURS.queued],
    ['pulling', TIMELINE_COLOURS.pulling],
    ['running', TIMELINE_COLOURS.running],
    ['done', TIMELINE_COLOURS.done],
    ['failed', TIMELINE_COLOURS.failed],
    ['aborted', TIMELINE_COLOURS.aborted],
  ];
  return [
    '<g class="legend">',
    ...entries.map(([name, colour], index) => {
      const left = 8 + index * 90;
      return `<rect x="${left}" y="${y}" width="12" height="12" rx="2" fill="${colour}"/><text x="${left + 16}" y="${y + 10}" ${FONT}>${name}</text>`;
    }),
    '</g>',
  ].join('');
}

function stepChart(
  parts: string[],
  kind: string,
  label: string,
  points: { at: number; value: number }[],
  max: number,
  colour: string,
  top: number,
  x: (at: number) => number,
  end: number,
): number {
  const bottom = top + CHART;
  const scale = (value: number) => round(bottom - (max === 0 ? 0 : (value / max) * (CHART - 8)));
  parts.push(`<g class="chart" data-chart="${kind}">`);
  parts.push(`<text x="8" y="${top + 14}" ${FONT} font-weight="bold">${label}</text>`);
  parts.push(`<text x="8" y="${top + 28}" ${FONT} fill="#57606a">at most ${max}</text>`);
  parts.push(`<line x1="${x(points[0]?.at ?? end)}" y1="${bottom}" x2="${x(end)}" y2="${bottom}" stroke="#afb8c1"/>`);
  if (points.length > 0) {
    const path = [`M ${x(points[0]!.at)} ${bottom}`];
    let last = 0;
    for (const point of points) {
      path.push(`L ${x(point.at)} ${scale(last)}`, `L ${x(point.at)} ${scale(point.value)}`);
      last = point.value;
    }
    path.push(`L ${x(end)} ${scale(last)}`, `L ${x(end)} ${bottom}`, 'Z');
    parts.push(`<path d="${path.join(' ')}" fill="${colour}" fill-opacity="0.35" stroke="${colour}" stroke-width="1"/>`);
  }
  parts.push('</g>');
  return bottom + 12;
}

/** Round steps of time since the start, about one per 100 pixels. */
function tickTimes(span: number, plotWidth: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 21_600, 43_200, 86_400].map((s) => s * 1000);
  const wanted = span / Math.max(1, plotWidth / 100);
  const step = steps.find((candidate) => candidate >= wanted) ?? steps.at(-1)!;
  const ticks: number[] = [];
  for (let at = 0; at <= span; at += step) ticks.push(at);
  return ticks;
}

/** `0s`, `45s`, `2m`, `2m30s`, `1h5m`. */
export function formatOffset(ms: number): string {
  const total = Math.round(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (hours > 0) return `${hours}h${minutes > 0 ? `${minutes}m` : ''}`;
  if (minutes > 0) return `${minutes}m${secs > 0 ? `${secs}s` : ''}`;
  return `${secs}s`;
}

const round = (value: number) => Math.round(value * 10) / 10;

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Time-series charts: a thin layer over uPlot (small, fast, canvas-based) that gives every
 * chart the same look, sizes it to its card, formats its axis and live legend, and shows
 * a note instead of an empty plot until there are enough samples.
 *
 * Optionally (Insight): a tooltip at the pointer with the time and every line's value in
 * its unit (the legend then only names the lines, and toggles them), a fixed time axis
 * (the range asked for, not just the data), and a y axis as wide as its longest label.
 * A null value is a gap in its line; a value with a gap on both sides is drawn as a dot.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h } from './dom.ts';

export const PALETTE = ['#3b5bdb', '#0ca678', '#f08c00', '#d6336c', '#7048e8', '#1098ad', '#74b816', '#e8590c'];

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  /** Shade the area under the line. */
  readonly fill?: boolean;
  readonly dash?: number[];
  /** Draw a line across samples without a value (e.g. intervals with no gets). */
  readonly spanGaps?: boolean;
  /** Thinner line (a secondary figure such as p99 beside a mean). */
  readonly width?: number;
}

export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly series: readonly SeriesSpec[];
  readonly format: (v: number) => string;
  /** Fixed y range (e.g. 0–100 for percentages); otherwise 0 to the data's maximum. */
  readonly yMax?: number;
  /** Whole numbers only on the y axis (counts). */
  readonly integer?: boolean;
  /** Binary steps on the y axis (bytes: 256 KiB, 512 KiB, 1 MiB, …). */
  readonly binary?: boolean;
  /** Legend and tooltip values (default: `format`), e.g. more digits than the axis. */
  readonly valueFormat?: (v: number) => string;
  /** A tooltip at the pointer; the legend then only names the lines. */
  readonly tooltip?: boolean;
  /** Points needed before the plot replaces the note (default 2). */
  readonly minPoints?: number;
  /** The note shown until then. */
  readonly emptyNote?: string;
}

const LEGEND_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
/** Points only where a line would hide them: few values in view. */
const FEW_POINTS = 12;
const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9, 1e10];
/** Whole multiples of powers of two: 1 B … 512 TiB. */
const BINARY_STEPS = Array.from({ length: 50 }, (_, i) => 2 ** i);
const AXIS = { stroke: '#6b7385', font: FONT, grid: { stroke: '#eceff5', width: 1 }, ticks: { stroke: '#e3e6ee', width: 1, size: 4 } };

function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

function countValues(values: ArrayLike<number | null | undefined> | undefined): number {
  let n = 0;
  for (let i = 0; values && i < values.length; i++) if (values[i] !== null && values[i] !== undefined) n++;
  return n;
}

const present = (v: number | null | undefined): v is number => v !== null && v !== undefined;

/** Indices of values with no value on either side: a line cannot show them, a dot does. */
export function isolatedPoints(values: ArrayLike<number | null | undefined> | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; values && i < values.length; i++) {
    if (present(values[i]) && !present(values[i - 1]) && !present(values[i + 1])) out.push(i);
  }
  return out;
}

/** A y axis as wide as its longest label (uPlot's axis-autosize recipe). */
function axisSize(u: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = u.axes[axisIdx]!;
  if (cycleNum > 1) return (axis as { _size?: number })._size ?? 50;
  let size = (axis.ticks?.size ?? 4) + (axis.gap ?? 5) + 6;
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), '');
  if (longest !== '') {
    u.ctx.font = FONT;
    size += u.ctx.measureText(longest).width;
  }
  return Math.ceil(size);
}

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly note: HTMLElement;
  private plot: uPlot | undefined;
  private data: uPlot.AlignedData;
  private readonly observer: ResizeObserver;
  private frame = 0;
  private xRange: [number, number] | undefined;
  private tip: HTMLElement | undefined;

  constructor(private readonly spec: ChartSpec) {
    this.plotHost = h('div', { class: 'chart-plot' });
    this.note = h('p', { class: 'chart-note' }, spec.emptyNote ?? 'Waiting for samples…');
    this.el = h('figure', { class: 'card chart', id: `chart-${spec.id}`, 'data-chart': spec.id, 'aria-label': spec.title },
      h('figcaption', { class: 'chart-head' },
        h('h3', { class: 'card-title' }, spec.title),
        h('p', { class: 'chart-desc' }, spec.description)),
      this.plotHost,
      this.note,
    );
    this.data = [[], ...spec.series.map(() => [])];
    this.observer = new ResizeObserver(() => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(() => this.resize());
    });
    this.observer.observe(this.plotHost);
  }

  /**
   * `t` in seconds; one array per series, aligned with `t`. `xRange` (seconds) fixes the
   * time axis to a range, e.g. the one asked for, however little of it has data.
   */
  setData(t: number[], ys: readonly (readonly (number | null)[])[], opts: { xRange?: [number, number] } = {}): void {
    this.data = [t, ...ys.map((y) => y.slice())] as uPlot.AlignedData;
    this.xRange = opts.xRange;
    const enough = t.length >= (this.spec.minPoints ?? 2);
    this.note.hidden = enough;
    this.el.classList.toggle('is-empty', !enough);
    this.el.dataset.points = String(t.length);
    // The newest value of the first series, and its maximum, for people and tests alike;
    // and every series' newest value (null: none in view).
    const first = ys[0] ?? [];
    const values = first.filter((v): v is number => typeof v === 'number');
    this.el.dataset.last = values.length ? String(values[values.length - 1]) : '';
    this.el.dataset.max = values.length ? String(Math.max(...values)) : '';
    this.el.dataset.series = JSON.stringify(this.spec.series.map((s) => s.label));
    this.el.dataset.lasts = JSON.stringify(ys.map((y) => y.filter(present).at(-1) ?? null));
    if (this.plot) {
      if (this.xRange) this.plot.setScale('x', { min: this.xRange[0], max: this.xRange[1] });
      this.plot.setData(this.data);
    } else {
      this.create();
    }
    this.showLatest();
  }

  destroy(): void {
    this.observer.disconnect();
    cancelAnimationFrame(this.frame);
    this.plot?.destroy();
    this.plot = undefined;
  }

  private size(): { width: number; height: number } {
    const width = Math.max(200, Math.floor(this.plotHost.clientWidth || 600));
    return { width, height: width < 480 ? 190 : 230 };
  }

  private create(): void {
    const { spec } = this;
    const yMax = spec.yMax;
    const valueFormat = spec.valueFormat ?? spec.format;
    const opts: uPlot.Options = {
      ...this.size(),
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { live: !spec.tooltip },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => this.xRange ?? (min === max ? [min - 60, max + 60] : [min, max]),
        },
        y: {
          range: (_u, _min, max) => (yMax !== undefined ? [0, yMax] : [0, max > 0 ? max * 1.1 : 1]),
        },
      },
      axes: [
        { ...AXIS, space: 70 },
        {
          ...AXIS,
          size: spec.tooltip ? axisSize : 64,
          incrs: spec.binary ? BINARY_STEPS : spec.integer ? INTEGER_STEPS : undefined,
          values: (_u, ticks) => ticks.map((v) => spec.format(v)),
        },
      ],
      series: [
        { label: 'Time', value: (_u, v) => (typeof v === 'number' && Number.isFinite(v) ? LEGEND_TIME.format(new Date(v * 1000)) : '—') },
        ...spec.series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 2,
          dash: s.dash,
          fill: s.fill ? alpha(s.color, 0.12) : undefined,
          spanGaps: s.spanGaps,
          points: {
            show: (u: uPlot, i: number) => countValues(u.data[i]) < FEW_POINTS,
            // Otherwise only the values a line cannot show (gaps on both sides).
            filter: (u: uPlot, i: number, show: boolean) => (show ? null : isolatedPoints(u.data[i]) as number[] | null),
            size: 5,
          },
          value: (_u, v) => (typeof v === 'number' && Number.isFinite(v) ? valueFormat(v) : '—'),
        })),
      ],
    };
    opts.hooks = { setCursor: [(u) => (spec.tooltip ? this.showTip(u, valueFormat) : this.showLatest())] };
    this.plot = new uPlot(opts, this.data, this.plotHost);
    if (this.xRange) this.plot.setScale('x', { min: this.xRange[0], max: this.xRange[1] });
  }

  /** The tooltip: the time of the bucket under the pointer and each visible line's value there. */
  private showTip(u: uPlot, format: (v: number) => string): void {
    const idx = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    if (idx === null || idx === undefined || left < 0) {
      if (this.tip) this.tip.hidden = true;
      return;
    }
    if (!this.tip) {
      this.tip = h('div', { class: 'chart-tip', role: 'tooltip' });
      u.over.append(this.tip);
    }
    const t = u.data[0][idx];
    const rows = this.spec.series.map((s, i) => {
      if (u.series[i + 1]?.show === false) return null;
      const v = u.data[i + 1]?.[idx];
      return h('div', { class: 'chart-tip-row' },
        h('span', { class: 'chart-tip-key' }, h('span', { class: 'chart-tip-mark', 'data-color': s.color }), s.label),
        h('span', { class: 'chart-tip-value' }, present(v) ? format(v) : 'no data'));
    });
    this.tip.replaceChildren(
      h('div', { class: 'chart-tip-time' }, typeof t === 'number' ? LEGEND_TIME.format(new Date(t * 1000)) : ''),
      ...rows.filter((r): r is HTMLDivElement => r !== null),
    );
    // Marker colours through the CSSOM (the page's CSP allows no inline style attributes).
    this.tip.querySelectorAll<HTMLElement>('.chart-tip-mark').forEach((m) => (m.style.background = m.dataset.color ?? ''));
    this.tip.hidden = false;
    const width = this.tip.offsetWidth;
    const overWidth = u.over.clientWidth;
    const x = left + 14 + width > overWidth ? Math.max(0, left - 14 - width) : left + 14;
    const top = Math.max(0, Math.min((u.cursor.top ?? 0) - 10, u.over.clientHeight - this.tip.offsetHeight));
    this.tip.style.transform = `translate(${Math.round(x)}px, ${Math.round(top)}px)`;
  }

  /** Without a pointer over the chart, the legend shows the newest values rather than dashes. */
  private showLatest(): void {
    const plot = this.plot;
    const n = this.data[0].length;
    if (plot && n > 0 && plot.cursor.idx == null) plot.setLegend({ idx: n - 1 }, false);
  }

  private resize(): void {
    if (!this.plot) return;
    const { width, height } = this.size();
    if (width !== this.plot.width || height !== this.plot.height) this.plot.setSize({ width, height });
  }
}

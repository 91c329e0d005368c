/**
 * Time-series charts: a thin layer over uPlot (small, fast, canvas-based) that gives every
 * chart the same look, sizes it to its card, formats its axis and live legend, and shows
 * a note instead of an empty plot until there are enough samples.
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
}

const LEGEND_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
/** Points only where a line would hide them: few values in view. */
const FEW_POINTS = 12;
const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1e3, 2e3, 2.5e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 2e6, 5e6, 1e7, 1e8, 1e9, 1e10];
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

export class TimeChart {
  readonly el: HTMLElement;
  private readonly plotHost: HTMLElement;
  private readonly note: HTMLElement;
  private plot: uPlot | undefined;
  private data: uPlot.AlignedData;
  private readonly observer: ResizeObserver;
  private frame = 0;

  constructor(private readonly spec: ChartSpec) {
    this.plotHost = h('div', { class: 'chart-plot' });
    this.note = h('p', { class: 'chart-note' }, 'Waiting for samples…');
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

  /** `t` in seconds; one array per series, aligned with `t`. */
  setData(t: number[], ys: readonly (readonly (number | null)[])[]): void {
    this.data = [t, ...ys.map((y) => y.slice())] as uPlot.AlignedData;
    const enough = t.length >= 2;
    this.note.hidden = enough;
    this.el.classList.toggle('is-empty', !enough);
    this.el.dataset.points = String(t.length);
    // The newest value of the first series, and its maximum, for people and tests alike.
    const first = ys[0] ?? [];
    const values = first.filter((v): v is number => typeof v === 'number');
    this.el.dataset.last = values.length ? String(values[values.length - 1]) : '';
    this.el.dataset.max = values.length ? String(Math.max(...values)) : '';
    if (this.plot) this.plot.setData(this.data);
    else this.create();
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
    const opts: uPlot.Options = {
      ...this.size(),
      cursor: { drag: { x: false, y: false }, points: { size: 7 } },
      legend: { live: true },
      scales: {
        x: { time: true },
        y: {
          range: (_u, _min, max) => (yMax !== undefined ? [0, yMax] : [0, max > 0 ? max * 1.1 : 1]),
        },
      },
      axes: [
        { ...AXIS, space: 70 },
        { ...AXIS, size: 64, incrs: spec.integer ? INTEGER_STEPS : undefined, values: (_u, ticks) => ticks.map((v) => spec.format(v)) },
      ],
      series: [
        { label: 'Time', value: (_u, v) => (typeof v === 'number' && Number.isFinite(v) ? LEGEND_TIME.format(new Date(v * 1000)) : '—') },
        ...spec.series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash,
          fill: s.fill ? alpha(s.color, 0.12) : undefined,
          spanGaps: s.spanGaps,
          points: { show: (u: uPlot, i: number) => countValues(u.data[i]) < FEW_POINTS, size: 5 },
          value: (_u, v) => (typeof v === 'number' && Number.isFinite(v) ? spec.format(v) : '—'),
        })),
      ],
    };
    opts.hooks = { setCursor: [() => this.showLatest()] };
    this.plot = new uPlot(opts, this.data, this.plotHost);
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

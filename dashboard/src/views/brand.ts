/** The cachier mark: three bars, as in the favicon. */
import { svg } from '../dom.ts';

export function brandMark(): SVGElement {
  return svg('svg', { class: 'brand-mark', viewBox: '0 0 32 32', width: 28, height: 28, 'aria-hidden': 'true' },
    svg('rect', { width: 32, height: 32, rx: 7, fill: 'currentColor' }),
    svg('path', { d: 'M9 11h14M9 16h14M9 21h9', stroke: '#fff', 'stroke-width': 3, 'stroke-linecap': 'round', fill: 'none' }),
  );
}

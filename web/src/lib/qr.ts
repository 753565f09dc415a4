/** A QR code as SVG nodes (built with createElementNS; no innerHTML). */
import { encode } from 'uqr';
import { h } from './dom.js';

export function qrSvg(text: string, label: string): SVGElement {
  const { data, size } = encode(text, { ecc: 'M', border: 2 });
  let d = '';
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) if (data[y]![x]) d += `M${x} ${y}h1v1h-1z`;
  return h(
    'svg',
    { viewBox: `0 0 ${size} ${size}`, class: 'qr', role: 'img', 'aria-label': label, 'shape-rendering': 'crispEdges' },
    h('rect', { width: size, height: size, fill: '#fff' }),
    h('path', { d, fill: '#000' }),
  ) as SVGElement;
}

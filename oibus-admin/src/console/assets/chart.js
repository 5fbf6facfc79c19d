// Small trend charts drawn as SVG elements, with no library and no inline style (the console's
// Content-Security-Policy allows neither): a line of the last values, scaled to its own range,
// with the newest value marked.

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attributes) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
  return el;
}

/**
 * A sparkline of `values` (numbers, oldest first): an `<svg role="img">` labelled `label`, of
 * `width` × `height` pixels. A flat or single value draws a level line.
 */
export function sparkline(values, { label, width = 120, height = 28, kind = 'line' } = {}) {
  const chart = svg('svg', { class: `spark ${kind}`, width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label || 'trend' });
  const title = svg('title', {});
  title.textContent = label || 'trend';
  chart.appendChild(title);
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return chart;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min || 1;
  const pad = 2;
  const x = (i) => (values.length === 1 ? width - pad : pad + (i * (width - 2 * pad)) / (values.length - 1));
  const y = (v) => (max === min ? height / 2 : height - pad - ((v - min) * (height - 2 * pad)) / span);
  const points = values.map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
  if (kind === 'area' && points.length > 1) {
    chart.appendChild(svg('polygon', { points: `${x(0).toFixed(1)},${height} ${points.join(' ')} ${x(values.length - 1).toFixed(1)},${height}`, class: 'area' }));
  }
  chart.appendChild(svg('polyline', { points: points.join(' '), fill: 'none', class: 'line' }));
  const last = values.length - 1;
  if (Number.isFinite(values[last])) chart.appendChild(svg('circle', { cx: x(last).toFixed(1), cy: y(values[last]).toFixed(1), r: 2, class: 'dot' }));
  chart.dataset.points = String(finite.length);
  return chart;
}

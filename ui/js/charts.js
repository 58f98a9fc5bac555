// Shows the SVG charts rendered in Rust. Each SVG document goes into an <img> as a data: URL:
// an image is drawn in isolation (no script runs, nothing external loads, it cannot reach this
// page's DOM), so the page never parses chart markup into its own document and never needs
// innerHTML. The CSP allows `img-src data:`. The chart's own <title> becomes the alt text.

import { h } from './dom.js';

const shown = new WeakMap();

function titleOf(svg) {
  // DOMParser documents are inert (no scripts, no loads); only the <title> text is read.
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const t = doc.querySelector('svg > title');
  return t ? t.textContent.trim() : '';
}

/** Puts `svg` (a complete SVG document) into `container`, unless it is already shown there. */
export function showSvg(container, svg, fallbackAlt) {
  if (typeof svg !== 'string' || svg.length === 0) return;
  if (shown.get(container) === svg) return;
  shown.set(container, svg);
  const src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  let img = container.querySelector('img');
  if (!img) {
    img = h('img', { decoding: 'async', draggable: false });
    container.replaceChildren(img);
  }
  img.alt = titleOf(svg) || fallbackAlt || 'Chart';
  img.src = src;
}

/** Renders a Vega-Lite spec to an SVG string, headless (no browser, no canvas). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { defined } from '../util/checked.js';

/**
 * Prefixes every id the SVG defines (clip paths, gradients), and the
 * references to them, so that several plots inlined in one page cannot
 * capture each other's definitions.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const ids = new Set(Array.from(svg.matchAll(/\sid="([^"]+)"/g), ([, id]) => defined(id, 'id attribute value')));
  if (ids.size === 0) return svg;
  const rename = (id: string) => (ids.has(id) ? `${prefix}-${id}` : id);
  return svg
    .replace(/(\sid=")([^"]+)"/g, (_, a: string, id: string) => `${a}${rename(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${rename(id)})`)
    .replace(/(href=")#([^"]+)"/g, (_, a: string, id: string) => `${a}#${rename(id)}"`);
}

export async function renderSvg(spec: TopLevelSpec, idPrefix?: string): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return idPrefix === undefined ? svg : prefixSvgIds(svg, idPrefix);
  } finally {
    view.finalize();
  }
}

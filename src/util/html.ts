import { got } from './checked.js';

const ENTITIES: ReadonlyMap<string, string> = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
  ["'", '&#39;'],
]);

/** Text safe to place in HTML, for the report and the status page. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => got(ENTITIES, c, 'HTML entity'));
}

/**
 * Reads that the type system cannot prove safe, checked at run time: where
 * a missing value means a broken invariant, the error names what was
 * missing instead of failing later on `undefined`.
 */

/** items[index], or an error naming `what` when the index is outside the items. */
export function at<T>(items: ArrayLike<T>, index: number, what: string): T {
  if (!(Number.isInteger(index) && index >= 0 && index < items.length)) throw new Error(`${what}: index ${index} is outside 0..${items.length - 1}`);
  return items[index] as T;
}

/** `value`, or an error naming `what` when it is undefined or null. */
export function defined<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`${what} is missing`);
  return value;
}

/** map.get(key), or an error naming `what` when the key is absent. */
export function got<K, V>(map: ReadonlyMap<K, V>, key: K, what: string): V {
  if (!map.has(key)) throw new Error(`${what}: no entry for ${String(key)}`);
  return map.get(key) as V;
}

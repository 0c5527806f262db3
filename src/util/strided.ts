/**
 * Vector operations over typed arrays with an offset and a stride, as BLAS
 * has them: element i of a vector is data[offset + i * stride], so a row of
 * a row-major matrix has stride 1 and a column stride = the row length. An
 * element read outside its array is an error (the message names the vector)
 * rather than a NaN written into the result.
 */
export type FloatVector = Float32Array | Float64Array;

function outside(op: string, which: 'x' | 'y', index: number, length: number): RangeError {
  return new RangeError(`${op}: ${which}[${index}] is outside its ${length} elements`);
}

/** y[yOff + i incY] += alpha x[xOff + i incX] for i < n (the sum in double, then stored as y's type). */
export function axpy(n: number, alpha: number, x: FloatVector, xOff: number, incX: number, y: FloatVector, yOff: number, incY: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i * incX];
    const yi = y[yOff + i * incY];
    if (xi === undefined) throw outside('axpy', 'x', xOff + i * incX, x.length);
    if (yi === undefined) throw outside('axpy', 'y', yOff + i * incY, y.length);
    y[yOff + i * incY] = yi + alpha * xi;
  }
}

/** y[yOff + i incY] = x[xOff + i incX] for i < n. */
export function copy(n: number, x: FloatVector, xOff: number, incX: number, y: FloatVector, yOff: number, incY: number): void {
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i * incX];
    if (xi === undefined) throw outside('copy', 'x', xOff + i * incX, x.length);
    y[yOff + i * incY] = xi;
  }
}

/** y[yOff + i incY] = (x[xOff + i incX] * alpha) / divisor for i < n, in that order (a factor or divisor of 1 is exact). */
export function copyScaled(
  n: number,
  alpha: number,
  divisor: number,
  x: FloatVector,
  xOff: number,
  incX: number,
  y: FloatVector,
  yOff: number,
  incY: number,
): void {
  for (let i = 0; i < n; i++) {
    const xi = x[xOff + i * incX];
    if (xi === undefined) throw outside('copyScaled', 'x', xOff + i * incX, x.length);
    y[yOff + i * incY] = (xi * alpha) / divisor;
  }
}

/** Asserts a call fails with a FederationError of this code whose message matches. */
import assert from 'node:assert/strict';
import { FederationError, type FederationErrorCode } from '../../src/transport/service.js';

export async function rejectsWith(promise: Promise<unknown>, code: FederationErrorCode, message: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof FederationError, `expected a FederationError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

/** A throwaway TLS certificate for localhost and 127.0.0.1, made with the openssl CLI for one test. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface SelfSignedCertificate {
  cert: string;
  key: string;
  /** the certificate's PEM file, for clients that take a path (the Python client's --tls-ca) */
  certPath: string;
  /** the key's PEM file, for servers that take a path (fedplora serve --tls-key) */
  keyPath: string;
}

/** undefined when openssl is missing or fails; the files are removed when the test ends */
export function selfSignedCertificate(t: TestContext): SelfSignedCertificate | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'fedplora-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-days',
      '2',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'pipe' },
  );
  if (made.error || made.status !== 0) return undefined;
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

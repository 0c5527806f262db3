/**
 * Runs test/python/federation_client.py, the grpcio client, against a
 * server of the test: finds a python3 with grpc, generates its stubs from
 * proto/ with Debian's protoc and grpc_python_plugin, and reads the one JSON
 * line the script prints. Reusable for any FederationService behind
 * startFederationServer.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const PYTHON_CLIENT = join(ROOT, 'test/python/federation_client.py');
const PROTOC = '/usr/bin/protoc';
const GRPC_PYTHON_PLUGIN = '/usr/bin/grpc_python_plugin';
const PROTOS = ['proto/fedplora/v1/federation.proto', 'proto/grpc/health/v1/health.proto'];

export interface PythonClientEnv {
  python: string;
  /** the generated stubs, put on PYTHONPATH */
  stubsDir: string;
  /** removes the stubs */
  dispose(): void;
}

/**
 * Debian's python3-grpcio installs into /usr/bin/python3, which a python3
 * earlier on PATH (pyenv, venv) may not see, so both are tried.
 */
function pythonWithGrpc(): string | undefined {
  const candidates = [process.env['FEDPLORA_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  return candidates.find((python) => spawnSync(python, ['-c', 'import grpc, google.protobuf'], { stdio: 'ignore' }).status === 0);
}

/** The environment, or why the Python client cannot run here (to skip with). */
export function preparePythonClient(): PythonClientEnv | { missing: string } {
  const python = pythonWithGrpc();
  if (!python) return { missing: 'no python3 with grpc and protobuf: install python3-grpcio and python3-protobuf' };
  if (!existsSync(PROTOC) || !existsSync(GRPC_PYTHON_PLUGIN)) {
    return { missing: `${PROTOC} or ${GRPC_PYTHON_PLUGIN} is absent: install protobuf-compiler and protobuf-compiler-grpc` };
  }
  const stubsDir = mkdtempSync(join(tmpdir(), 'fedplora-pystubs-'));
  const made = spawnSync(
    PROTOC,
    ['-Iproto', `--python_out=${stubsDir}`, `--grpc_out=${stubsDir}`, `--plugin=protoc-gen-grpc=${GRPC_PYTHON_PLUGIN}`, ...PROTOS],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (made.status !== 0) {
    rmSync(stubsDir, { recursive: true, force: true });
    throw new Error(`protoc could not generate the Python stubs: ${made.stderr.trim() || made.error?.message}`);
  }
  return { python, stubsDir, dispose: () => rmSync(stubsDir, { recursive: true, force: true }) };
}

export interface PythonClientArgs {
  /** host:port or the server's url */
  url: string;
  token: string;
  clientId: number;
  tlsCaPath?: string;
  corrupt?: 'none' | 'shape' | 'nan' | 'modules';
  waitSeconds?: number;
  maxPolls?: number;
}

export interface PythonClientRun {
  /** 0 accepted, 3 submit refused, 4 no task, 1 an earlier call failed */
  exitCode: number | null;
  /** the script's JSON line: outcome, and code/details for a refused call */
  result: Record<string, unknown>;
  stderr: string;
}

/** Runs the script without blocking the event loop, since the server under test answers from this process. */
export function runPythonClient(env: PythonClientEnv, args: PythonClientArgs, timeoutMs = 60_000): Promise<PythonClientRun> {
  const argv = [PYTHON_CLIENT, '--url', args.url, '--token', args.token, '--client-id', String(args.clientId)];
  if (args.tlsCaPath) argv.push('--tls-ca', args.tlsCaPath);
  if (args.corrupt) argv.push('--corrupt', args.corrupt);
  if (args.waitSeconds !== undefined) argv.push('--wait-seconds', String(args.waitSeconds));
  if (args.maxPolls !== undefined) argv.push('--max-polls', String(args.maxPolls));
  return new Promise((resolve, reject) => {
    const child = spawn(env.python, argv, {
      env: { ...process.env, PYTHONPATH: env.stubsDir, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ exitCode, result: JSON.parse(line) as Record<string, unknown>, stderr });
      } catch {
        reject(new Error(`the Python client printed no JSON line (exit ${exitCode ?? signal}); stdout: ${stdout.trim()} stderr: ${stderr.trim()}`));
      }
    });
  });
}

/**
 * Clients trained in parallel worker processes, each single-threaded. On a
 * 2-core machine two single-threaded clients at once train about a quarter
 * faster than one client using both cores at the bundled model's size, and
 * less for larger models (npm run bench:clients): the small products of LoRA
 * training do not scale well to two threads. Results agree with in-process
 * training up to float rounding (OpenBLAS on one thread sums in another order).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from './config.js';
import { decodePayload, encodePayload } from '../methods/payload.js';
import type { ClientJob, ClientResult, ClientRunner } from '../federation/client-runner.js';
import type { WorkerReply, WorkerRequest } from './client-worker.js';
import { at } from '../util/checked.js';

const WORKER = fileURLToPath(new URL('./client-worker.js', import.meta.url));

function startWorker(config: RunConfig): Promise<ChildProcess> {
  // One thread each for the fused kernels and for OpenBLAS, unless the user chose otherwise.
  const env = { ...process.env, FEDPLORA_THREADS: process.env['FEDPLORA_THREADS'] ?? '1', OPENBLAS_NUM_THREADS: process.env['OPENBLAS_NUM_THREADS'] ?? '1' };
  const child = fork(WORKER, [], { env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const onMessage = (m: WorkerReply) => {
      child.off('exit', onExit);
      child.off('message', onMessage);
      if (m.type === 'ready') resolve(child);
      else reject(new Error(`a client worker failed to start: ${m.type === 'error' ? m.message : m.type}`));
    };
    const onExit = (code: number | null) => reject(new Error(`a client worker exited with code ${code} while starting`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send({ type: 'init', config } satisfies WorkerRequest);
  });
}

export async function createClientPool(config: RunConfig, workers: number): Promise<ClientRunner> {
  const children = await Promise.all(Array.from({ length: workers }, () => startWorker(config)));
  return {
    run(jobs: ClientJob[], onDone?: (done: number) => void): Promise<ClientResult[]> {
      const results: ClientResult[] = new Array(jobs.length);
      let next = 0;
      let done = 0;
      return new Promise((resolve, reject) => {
        const cleanups: (() => void)[] = [];
        const finish = (e?: Error) => {
          for (const c of cleanups) c();
          if (e) reject(e);
          else resolve(results);
        };
        const dispatch = (child: ChildProcess) => {
          if (next >= jobs.length) return;
          const i = next++;
          const j = at(jobs, i, 'client jobs');
          child.send({
            type: 'train',
            job: i,
            round: j.round,
            clientId: j.client.info.id,
            message: j.encoded ?? encodePayload(j.message),
          } satisfies WorkerRequest);
        };
        for (const child of children) {
          const onMessage = (m: WorkerReply) => {
            if (m.type === 'error') return finish(new Error(`client ${(m.job === null ? undefined : jobs[m.job])?.client.info.id ?? '?'}: ${m.message}`));
            if (m.type !== 'result') return;
            results[m.job] = {
              update: decodePayload(m.update, `update from client ${at(jobs, m.job, 'client jobs').client.info.id}`),
              updateBytes: m.update.length,
              loss: m.loss,
              seconds: m.seconds,
              trainableParameters: m.trainableParameters,
            };
            onDone?.(++done);
            if (done === jobs.length) finish();
            else dispatch(child);
          };
          const onExit = (code: number | null) => finish(new Error(`a client worker exited with code ${code}`));
          child.on('message', onMessage);
          child.on('exit', onExit);
          cleanups.push(() => {
            child.off('message', onMessage);
            child.off('exit', onExit);
          });
        }
        if (jobs.length === 0) finish();
        for (const child of children) dispatch(child);
      });
    },
    async close() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once('exit', () => resolve());
              c.kill();
            }),
        ),
      );
    },
  };
}

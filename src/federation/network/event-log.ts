/**
 * The federation server's structured event log: one JSON object per line,
 * `{"time":"<ISO>","event":"client_joined","client":3,...}`, appended to a
 * file so a run can be audited afterwards, with the last entries kept in
 * memory for the status page.
 *
 * Events a served run writes, with their fields:
 *   server_started     run, url, status (the status page's URL or null), tls, clients, resume
 *   client_joined      client, rank, examples, joins
 *   client_rejoined    the same, for a client that had joined this server before
 *   task_sent          client, round, bytes, again (sent before: the client asked again)
 *   result_accepted    client, round, bytes, loss, seconds
 *   result_rejected    client, round, code, reason
 *   client_dropped     client, round, reason (not connected, no result by the deadline, server stopping)
 *   round_opened       round, clients (the sampled ids), deadline (ISO)
 *   round_closed       round, accepted, rejected, dropped (counts)
 *   round_finished     round (0: the evaluation before training), metric_name, metric (null between
 *                      evaluations), train_loss, aggregated; the round's checkpoint is saved by then
 *   start_without_all  joined, wanted, reason (round 1 started before every client joined)
 *   call_failed        rpc, code, reason (authentication failures and internal errors)
 *   server_stopping    (SIGINT or SIGTERM)
 *   run_finished       rounds
 * `time` and `event` are set by the log and cannot be passed as fields.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where the coordinator and its round book report what happens. */
export interface EventSink {
  log(event: string, fields?: Record<string, unknown>): void;
}

export interface EventEntry {
  time: string;
  event: string;
  [field: string]: unknown;
}

export interface EventLogOptions {
  /** append to this file, created with its folders if missing */
  file?: string;
  /** also write each line (with its newline) to this stream, e.g. process.stdout; the log does not end it */
  stream?: NodeJS.WritableStream;
  /** also hand each line (without its newline) to this function, e.g. to print a summary */
  echo?: (line: string) => void;
  /** how many entries recent() can return */
  keep?: number;
}

export interface EventLog {
  log(event: string, fields?: Record<string, unknown>): void;
  /** the last n entries, oldest first */
  recent(n: number): EventEntry[];
  /** closes the file; later events still reach memory, the stream and echo */
  close(): Promise<void>;
}

const DEFAULT_KEEP = 200;
const RESERVED = ['time', 'event'];

/** Errors and bigints have no useful JSON form of their own. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createEventLog(options: EventLogOptions = {}): EventLog {
  const keep = options.keep ?? DEFAULT_KEEP;
  const entries: EventEntry[] = [];
  let fd: number | null = null;
  if (options.file !== undefined) {
    mkdirSync(dirname(options.file), { recursive: true });
    fd = openSync(options.file, 'a');
  }

  return {
    log(event: string, fields: Record<string, unknown> = {}): void {
      const clash = RESERVED.find((k) => k in fields);
      if (clash) throw new Error(`event ${event}: the field "${clash}" is set by the event log; give it another name`);
      const entry: EventEntry = { time: new Date().toISOString(), event, ...fields };
      const line = JSON.stringify(entry, jsonValue);
      // Memory keeps what the file holds, untouched by later changes to the caller's objects.
      entries.push(JSON.parse(line) as EventEntry);
      if (entries.length > keep) entries.splice(0, entries.length - keep);
      // A synchronous append keeps the order of events and leaves every line on disk even if the server dies next.
      if (fd !== null) writeSync(fd, `${line}\n`);
      options.stream?.write(`${line}\n`);
      options.echo?.(line);
    },
    recent(n: number): EventEntry[] {
      return n <= 0 ? [] : entries.slice(-n);
    },
    async close(): Promise<void> {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

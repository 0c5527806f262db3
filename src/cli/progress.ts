/**
 * Progress of a run: bars for rounds and for the clients of the current
 * round on a terminal, plain lines otherwise (CI logs, pipes), and one
 * summary line per round either way.
 */
import cliProgress from 'cli-progress';

export interface RunProgress {
  client(round: number, done: number, of: number): void;
  round(round: number, line: string): void;
  stop(): void;
}

export function createProgress(rounds: number, stream: NodeJS.WriteStream = process.stderr): RunProgress {
  if (!stream.isTTY) {
    return {
      client: () => {},
      round: (_r, line) => process.stdout.write(`${line}\n`),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { format: '{label} |{bar}| {value}/{total}', hideCursor: true, clearOnComplete: true, stream },
    cliProgress.Presets.shades_classic,
  );
  const roundBar = multi.create(rounds, 0, { label: 'rounds ' });
  const clientBar = multi.create(1, 0, { label: 'clients' });
  return {
    client(_round, done, of) {
      clientBar.setTotal(of);
      clientBar.update(done);
    },
    round(r, line) {
      multi.log(`${line}\n`);
      roundBar.update(r);
      clientBar.update(0);
    },
    stop: () => multi.stop(),
  };
}

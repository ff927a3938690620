/** Progress bars on stderr (cli-progress), so they never mix with --json output on stdout. */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(title: string, total: number, extraFormat = ''): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${title.padEnd(18)} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}${extraFormat}`,
      hideCursor: true,
      clearOnComplete: false,
      // Non-TTY stderr (CI logs, pipes): print a line now and then instead of redrawing.
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 5000,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  // Placeholders show a dash until the first update carries their values.
  const initial = Object.fromEntries([...extraFormat.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, '–']));
  bar.start(total, 0, initial);
  return {
    update: (done, payload) => bar.update(done, payload ?? {}),
    stop: () => bar.stop(),
  };
}

/** What a training step reports to whoever runs it (the CLI draws bars on stderr; tests stay quiet). */
export interface ProgressBar {
  update(done: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export interface StepUi {
  warn(message: string): void;
  /** `extraFormat` adds cli-progress placeholders filled from update()'s payload, e.g. ' loss {loss}'. */
  progress(title: string, total: number, extraFormat?: string): ProgressBar;
}

const NO_BAR: ProgressBar = { update: () => undefined, stop: () => undefined };

/** A UI that draws no progress (e.g. `eval` called from another step), warnings still shown. */
export function withoutProgress(ui: Pick<StepUi, 'warn'>): StepUi {
  return { warn: ui.warn, progress: () => NO_BAR };
}

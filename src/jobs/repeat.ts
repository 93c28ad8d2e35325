// A task run now and then every so often, one run at a time, for the process's background loops: a
// tick that finds a run under way is skipped (a slow run is never overlapped, and ticks never pile up
// into a backlog of runs); the returned function stops it after the run under way.
export function repeatEvery(everySeconds: number, task: () => Promise<unknown>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const step = () => {
    running ??= Promise.resolve()
      .then(task)
      .then(() => undefined, onError)
      .finally(() => (running = undefined));
  };
  step();
  const timer = setInterval(step, everySeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

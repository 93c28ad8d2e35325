// A task run now and then every so often, one run at a time (a slow run delays the next, never
// overlaps it), for the process's background loops; the returned function stops it after the run
// under way.
export function repeatEvery(everySeconds: number, task: () => Promise<unknown>, onError: (error: unknown) => void): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const step = () => {
    running = running.then(task).then(() => undefined, onError);
  };
  step();
  const timer = setInterval(step, everySeconds * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

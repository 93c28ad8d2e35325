// Starts a lint worker thread (grammar-worker.ts) before the run knows what to ask of it: a thread's
// start-up (Node's own modules compiled anew in each thread) takes about as long as the command's
// reading of its config, so a command that will lint starts one first and hands it to prepareLint.
// This module imports nothing else of the lint, so starting the thread waits for no other loading.
import { Worker } from "node:worker_threads";

// The worker is the bundle's sibling (dist/cli/grammar-worker.cjs). Run from the sources
// (tests, bin/autopilot.js after an edit), Node 20 does not pass tsx's loader to a worker, so
// everything runs in the calling thread there.
const fromSources = import.meta.url.endsWith(".ts");

export function lintWorkersCanStart(): boolean {
  return !fromSources;
}

let startedEarly: Worker | undefined;

/**
 * Starts the worker before the command line's own modules load (src/cli/main.ts, for a command that
 * asks for a lint): its start-up, not the reading of the files, is what the lint first waits for.
 */
export function startLintWorkerEarly(): void {
  if (lintWorkersCanStart()) startedEarly ??= startLintWorker();
}

/** The worker started early, if any and not yet taken, else a new one; none where workers cannot start. */
export function takeLintWorker(): Worker | undefined {
  if (!lintWorkersCanStart()) return undefined;
  const worker = startedEarly ?? startLintWorker();
  startedEarly = undefined;
  return worker;
}

/** A started worker that waits for its task (grammar-worker.ts's WorkerTask) as its first message. */
export function startLintWorker(): Worker {
  const worker = new Worker(new URL("./grammar-worker.cjs", import.meta.url));
  // Until it is given work it must not keep the process alive, so a run that fails before linting exits.
  worker.unref();
  return worker;
}

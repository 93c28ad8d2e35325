// Linting a directory on every core: worker threads (lint-worker.ts) each parse and lint a contiguous
// share of the files, the first share's thread passing on what its files teach the schema to the
// next one, while this thread checks every file against the target's grammar when it is older than
// PostgreSQL 17 (grammars.ts) and hands each worker its answers. The findings are those of
// lintMigrations + lintDownFile, in the same order: the shares' files in order, then the down files.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { downFileInput, lintDownFile } from "./down-files.js";
import { loadTargetGrammar, newerSyntaxLoading, NEWEST_MAJOR } from "./grammars.js";
import { ensureLintReady, lintableText, lintMigrations, type LintFinding, type LintInput, type LintOptions } from "./index.js";
import type { FromWorker, ToWorker } from "./lint-worker.js";

/** A lint run whose parser and threads are loading; `lint` takes the files once they are read. */
export interface PreparedLint {
  /** Lints the files in order, then the down files, each on its own. */
  lint(files: LintInput[], downs: Array<{ path: string; sql: string }>): Promise<LintFinding[]>;
}

/** More threads than cores only take turns; a share's start-up (a thread, the grammar) costs CPU too. */
const MAX_THREADS = 4;

/**
 * Starts loading what a run with these options needs: the threads that parse and lint the files, each
 * loading the grammar (WebAssembly compilation, a thread's start-up, both a while), and the target's
 * grammar here, so a caller prepares before it reads the files and the loading overlaps the reading.
 */
export function prepareLint(options: LintOptions): PreparedLint {
  if (!workerCanStart()) return prepareInThisThread(options);
  const target = options.postgresVersion;
  const checked = target !== undefined && target < NEWEST_MAJOR;
  const targetGrammar = checked ? loadTargetGrammar(target) : Promise.resolve();
  // Awaited in `lint`; until then a failure would be unhandled.
  targetGrammar.catch(() => {});
  const threads = Array.from({ length: Math.min(MAX_THREADS, availableParallelism()) }, () => new LintThread(options));
  return {
    async lint(files, downs) {
      const fileShares = contiguousShares(files, threads.length);
      const downShares = contiguousShares(downs.map(downFileInput), threads.length);
      threads.forEach((thread, i) =>
        thread.send({
          kind: "share",
          files: fileShares[i],
          downs: downShares[i],
          followsShare: i > 0,
          precedesShare: i < threads.length - 1,
          checked,
        }),
      );
      const results = threads.map((thread) => thread.receive("findings"));
      // Each share's schema goes on to the next thread as soon as it is known.
      const handedOn = threads.slice(0, -1).map(async (thread, i) => threads[i + 1].send(await thread.receive("schema")));
      if (checked) {
        await targetGrammar;
        for (const [i, thread] of threads.entries()) {
          const answers = [];
          for (const input of [...fileShares[i], ...downShares[i]]) answers.push(await newerSyntaxLoading(lintableText(input.sql), target));
          thread.send({ kind: "newer", answers });
        }
      }
      await Promise.all(handedOn);
      const findings = await Promise.all(results);
      return [...findings.flatMap((share) => share.files), ...findings.flatMap((share) => share.downs)];
    },
  };
}

/** The items cut into `count` runs in order, of about the same total SQL size each. */
function contiguousShares<T extends { sql: string }>(items: T[], count: number): T[][] {
  const total = items.reduce((sum, item) => sum + item.sql.length, 0);
  const shares: T[][] = Array.from({ length: count }, () => []);
  let size = 0;
  for (const item of items) {
    shares[Math.min(count - 1, Math.floor((size * count) / Math.max(total, 1)))].push(item);
    size += item.sql.length;
  }
  return shares;
}

/** Everything on this thread: the parser loads while the files are read. */
function prepareInThisThread(options: LintOptions): PreparedLint {
  const parserReady = ensureLintReady(options);
  // Awaited in `lint`; until then a failure would be unhandled.
  parserReady.catch(() => {});
  return {
    async lint(files, downs) {
      await parserReady;
      return [...lintMigrations(files, options), ...downs.flatMap((down) => lintDownFile(down, options))];
    },
  };
}

// The worker is the bundle's JavaScript sibling (dist/cli/lint-worker.js). Run from the sources
// (tests, bin/autopilot.js after an edit), Node 20 does not pass tsx's loader to a worker, so
// everything runs in this thread there.
const fromSources = import.meta.url.endsWith(".ts");

function workerCanStart(): boolean {
  return !fromSources;
}

/**
 * A worker thread (lint-worker.ts): it loads the grammar as soon as it starts. Until it is sent its
 * share it does not keep the process alive, so a run that fails before linting exits.
 */
class LintThread {
  private readonly worker: Worker;
  private readonly received = new Map<FromWorker["kind"], FromWorker>();
  private failure?: Error;
  /** Receivers waiting for the next message (two may wait at once: a share's schema and its findings). */
  private waiting: Array<() => void> = [];

  constructor(options: LintOptions) {
    this.worker = new Worker(new URL("./lint-worker.js", import.meta.url), { workerData: options });
    this.worker.on("message", (message: FromWorker) => {
      this.received.set(message.kind, message);
      this.wakeAll();
    });
    this.worker.once("error", (error) => this.fail(error));
    this.worker.once("exit", (code) => this.fail(new Error(`the lint's worker thread exited (code ${code}) before answering`)));
    // After the listeners: adding a "message" listener holds the process again.
    this.worker.unref();
  }

  send(message: ToWorker): void {
    this.worker.ref();
    this.worker.postMessage(message);
  }

  async receive<K extends FromWorker["kind"]>(kind: K): Promise<Extract<FromWorker, { kind: K }>> {
    while (!this.received.has(kind)) {
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    return this.received.get(kind) as Extract<FromWorker, { kind: K }>;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}

// A job that only waits — verification between its probes, a heal cycle's recovery wait — lends its
// worker while it waits: a stand-in worker of the same queue runs meanwhile, so four releases being
// verified (or four sites that are down) never hold back every other repository's work of that kind.
// The number of jobs *working* at once stays the queue's worker count; waiting costs a promise.
import { AsyncLocalStorage } from "node:async_hooks";

/** Starts a stand-in worker and returns how to stop it; undefined when the queue has lent all it may. */
export type Lender = () => Promise<(() => Promise<void>) | undefined>;

const lenders = new AsyncLocalStorage<Lender>();

/** Runs a job with the lender of its queue, so `whileWaiting` inside it can lend its worker. */
export function withLender<T>(lender: Lender, job: () => Promise<T>): Promise<T> {
  return lenders.run(lender, job);
}

/**
 * Awaits `wait` with this job's worker lent to its queue. Outside a queue's job (a runbook run
 * directly, a CLI) it simply awaits.
 */
export async function whileWaiting<T>(wait: () => Promise<T>): Promise<T> {
  const stopStandIn = await lenders.getStore()?.();
  try {
    return await wait();
  } finally {
    await stopStandIn?.();
  }
}

/** A lender that starts at most `limit` stand-ins at once, through `start` and `stop`. */
export function boundedLender(limit: number, start: () => Promise<string>, stop: (id: string) => Promise<void>): Lender {
  let lent = 0;
  return async () => {
    if (lent >= limit) return undefined;
    lent++;
    const id = await start().catch((error) => {
      lent--;
      throw error;
    });
    return async () => {
      lent--;
      await stop(id);
    };
  };
}

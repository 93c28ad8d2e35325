// The worker thread of grammar-thread.ts: checks each text against the target's grammar, in order,
// and posts back the answers (undefined where the target parses the text).
import { parentPort, workerData } from "node:worker_threads";
import { newerSyntaxLoading } from "./grammars.js";

const { texts, targetMajor } = workerData as { texts: string[]; targetMajor: number };
const answers = [];
for (const text of texts) answers.push(await newerSyntaxLoading(text, targetMajor));
parentPort!.postMessage(answers);

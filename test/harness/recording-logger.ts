import type { Logger } from "../../src/logger.js";

/** A logger that keeps what it was told, to wait for a message instead of sleeping. */
export function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const keep = (obj: unknown, msg?: string) => void messages.push(typeof obj === "string" ? obj : (msg ?? ""));
  return { messages, warn: keep, info: keep, error: keep, debug: keep } as unknown as Logger & { messages: string[] };
}

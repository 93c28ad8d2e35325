// Object keys of remote backups: <prefix><owner>/<repo>/<environment>/<backup-id>-<timestamp>.dump
// (".dump.enc" when encrypted). The segments follow the local store's rules (the environment
// percent-encoded), so a key never holds "..", a separator or a character a store refuses.
import { backupFolder, segment, timestamp } from "./local-store.js";

export interface ObjectKeyParts {
  prefix: string;
  id: string;
  repo: string;
  environment: string;
  createdAt: Date;
  encrypted: boolean;
}

/** The final key, and the temporary one the upload goes to until it is verified. */
export function backupObjectKeys(parts: ObjectKeyParts): { key: string; temporaryKey: string } {
  const folder = backupFolder(parts.repo, parts.environment).join("/");
  const name = `${segment("backup id", parts.id)}-${timestamp(parts.createdAt)}.dump${parts.encrypted ? ".enc" : ""}`;
  return { key: `${parts.prefix}${folder}/${name}`, temporaryKey: `${parts.prefix}${folder}/.partial-${name}` };
}

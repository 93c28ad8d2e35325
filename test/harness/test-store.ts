// The app's store on a fresh database, for the tests of one describe block: opened before them,
// closed and dropped after. Call it inside `describe`; read `.store` once the tests run.
import { after, before } from "node:test";
import { openStore, type Store, type StoreOptions } from "../../src/store/store.js";
import { createTestDatabase, type TestDatabase } from "./postgres.js";

export interface TestStore {
  readonly db: TestDatabase;
  readonly store: Store;
}

export function useTestStore(prefix: string, options?: StoreOptions): TestStore {
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  before(async () => {
    db = await createTestDatabase(prefix);
    store = await openStore(db.url, options);
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });
  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`the ${prefix} test store is opened by a before hook: use it inside a test`);
    return value;
  };
  return {
    get db() {
      return opened(db);
    },
    get store() {
      return opened(store);
    },
  };
}

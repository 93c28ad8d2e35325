#!/usr/bin/env node
// Runs the TypeScript CLI without a build step: registers tsx's loader, then loads the entry point.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");

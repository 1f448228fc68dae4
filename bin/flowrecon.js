#!/usr/bin/env node
// The flowrecon command; the implementation is src/cli.ts (built to dist/cli.js).
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The `rendezvous` command (package.json "bin"). Everything is in src/cli/index.ts, built to
// dist/cli/index.js; this file only starts it.
import { run } from '../dist/cli/index.js'

await run()

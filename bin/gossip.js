#!/usr/bin/env node
// The `gossip` command. The sources are TypeScript; tsx compiles them on load so that
// `npx gossip ...` works straight after `npm install`, with no build step to remember.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The prompt-edge CLI is TypeScript run through tsx's loader: no build step between a
// `git clone` and `npx prompt-edge`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/train/cli/main.ts');
process.exitCode = await main(process.argv);

#!/usr/bin/env node
// The shipline CLI runs its TypeScript sources through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../cli/shipline.ts');

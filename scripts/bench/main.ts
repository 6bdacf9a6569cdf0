/**
 * Benchmarks: `npm run bench -- <engine> [flags]`. Each engine takes flags for one configuration
 * (or comma lists to sweep) and `--json` for one JSON object per configuration per line.
 */
import { Command } from 'commander';

const program = new Command('bench').description('Blindsight benchmarks').showHelpAfterError();

const engines: Record<string, () => Promise<{ register(program: Command): void }>> = {
  cli: () => import('./cli'),
  sei: () => import('./sei'),
  fit: () => import('./fit'),
  api: () => import('./api'),
  sealed: () => import('./sealed'),
};

for (const load of Object.values(engines)) (await load()).register(program);

await program.parseAsync(process.argv);

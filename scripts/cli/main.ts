/**
 * Entry point of the `blindsight` command line (`npx tsx scripts/cli/main.ts ...`, or the
 * package's `blindsight` bin). See program.ts for the commands.
 */
import { processIo } from './io';
import { runCli } from './program';

process.exitCode = await runCli(process.argv.slice(2), processIo());

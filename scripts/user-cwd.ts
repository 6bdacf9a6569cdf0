/**
 * The folder the user typed a command in. npm runs scripts from the package root and says where
 * it was started in INIT_CWD, so `npm run blindsight -- user search photo.jpg` finds the photo
 * where the user is. INIT_CWD is inherited by every process npm starts, so it counts only when
 * this process runs in the package root, where npm put it.
 */
import { resolve } from 'node:path';
import { REPO_ROOT } from './local-cloud/layout';

export function commandCwd(env: Readonly<Record<string, string | undefined>>, processCwd: string, packageRoot: string = REPO_ROOT): string {
  const initCwd = env.INIT_CWD?.trim();
  return initCwd && resolve(processCwd) === resolve(packageRoot) ? resolve(initCwd) : processCwd;
}

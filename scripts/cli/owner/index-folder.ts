/**
 * `blindsight owner index <folder>`: the index workflow (lib/client/owner-index) over a folder
 * on disk, built into a staging folder that replaces the previous build only when complete.
 * Nothing leaves the machine until `owner publish`.
 */
import { info, warn } from '../../../lib/client/events';
import { emptyFolderHint, listImageFolder } from '../../../lib/client/node/folder-images';
import { loadUsers, stageBuild } from '../../../lib/client/node/owner-home';
import { DEFAULT_MODEL_CHOICE } from '../../../lib/client/node/feature-models';
import type { ModelChoice } from '../../../lib/client/features';
import { indexImages } from '../../../lib/client/owner-index';
import type { IndexSummary } from '../../../lib/client/owner-index';
import { SHE_IS_INSECURE, SHE_WARNING } from '../../../lib/he/backends';
import type { HeBackendName } from '../../../lib/he/types';
import type { IndexTreeLayout } from '../../../lib/sei/index-tree/types';
import type { SearchIndexKind } from '../../../lib/client/owner-state';
import type { QueryBudget } from '../../../lib/twoserver/policy';
import { UsageError } from '../errors';
import type { CommandContext } from '../context';
import { resolvePath } from '../context';
import { openOwner } from './owner-command';
import type { IndexName } from '../../../lib/core/ids';

export interface IndexOptions {
  readonly folder: string;
  readonly indexName?: IndexName;
  /** Search index kinds (default sealed only). */
  readonly kinds?: readonly SearchIndexKind[];
  readonly recursive?: boolean;
  readonly model?: ModelChoice;
  /** Also build the two-server identification index. */
  readonly twoServer?: boolean;
  readonly twoServerIndexName?: IndexName;
  readonly he?: HeBackendName;
  /** Required with he 'she' (--insecure-paper-scheme): the paper's scheme is broken. */
  readonly insecurePaperScheme?: boolean;
  /** Identification embeddings from the face model instead of the PCA'd CNN features. */
  readonly face?: boolean;
  /** Index tree layout (default balanced; paper: the SEI paper's tree and search). */
  readonly layout?: IndexTreeLayout;
  /** Recall@10 the stored search defaults must reach (default 0.95). */
  readonly targetRecall?: number;
  /** What users may ask of the identification index (defaults: k <= 10, the embedding's threshold, 100 an hour). */
  readonly maxK?: number;
  readonly maxTauSquared?: number;
  readonly identifyBudget?: QueryBudget;
}

export type IndexResult = IndexSummary;

/** --he she only with --insecure-paper-scheme (checked before anything runs), and then loudly. */
function checkHeBackend(context: CommandContext, options: IndexOptions): void {
  if (options.twoServer !== true || options.he !== 'she') return;
  if (options.insecurePaperScheme !== true) {
    throw new UsageError(`--he she: ${SHE_IS_INSECURE}. Use --he bfv (the default), or add --insecure-paper-scheme to build it anyway for an experiment`);
  }
  warn(context.listener, `--insecure-paper-scheme: ${SHE_WARNING}`);
}

export async function ownerIndex(context: CommandContext, options: IndexOptions): Promise<IndexResult> {
  checkHeBackend(context, options);
  const { owner, paths } = await openOwner(context);
  const folder = resolvePath(context, options.folder);
  const recursive = options.recursive === true;
  const images = await listImageFolder(folder, { recursive });
  const staged = await stageBuild(paths);
  let build;
  try {
    build = await indexImages(
      {
        owner,
        images,
        label: folder,
        models: context.models,
        sink: staged,
        model: options.model ?? DEFAULT_MODEL_CHOICE,
        indexName: options.indexName,
        ...(options.kinds !== undefined ? { kinds: options.kinds } : {}),
        ...(options.layout === undefined ? {} : { layout: options.layout }),
        ...(options.targetRecall === undefined ? {} : { targetRecall: options.targetRecall }),
        ...(options.twoServer ? {
              twoServer: {
                indexName: options.twoServerIndexName,
                he: options.he,
                allowInsecurePaperScheme: options.insecurePaperScheme === true,
                face: options.face,
                maxK: options.maxK,
                maxTauSquared: options.maxTauSquared,
                identifyBudget: options.identifyBudget,
              },
            } : {}),
        emptyHint: () => emptyFolderHint(folder, recursive),
        now: context.now,
      },
      context.listener,
    );
    await staged.commit(build.manifest);
  } catch (error) {
    await staged.abort();
    throw error;
  }
  info(context.listener, `index built in ${paths.indexDir}; run "blindsight owner publish" to upload it`);
  // Grants carry the PCA of the build they were made from: a new build needs new grants.
  const enrolled = Object.entries((await loadUsers(paths)).users).filter(([, user]) => user.status === 'active');
  if (enrolled.length > 0) {
    warn(
      context.listener,
      `the new PCA makes the grants of ${enrolled.map(([id]) => `"${id}"`).join(', ')} stale: after publishing, run "blindsight owner enroll <user> --request <their request>" again`,
    );
  }
  return build.summary;
}

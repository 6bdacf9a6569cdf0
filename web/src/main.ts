/**
 * The page: import a grant (kept encrypted in IndexedDB or only in memory), load the feature
 * model, search with a dropped image, show the decrypted results. `document.body.dataset.state`
 * says where the page is ('setup', 'locked', 'loading-model', 'ready', 'searching') and
 * `dataset.searches` how many searches have finished, for styles and for the browser test.
 */
import type { WorkflowEvent } from '../../lib/client/events';
import type { UserSession } from '../../lib/client/user-session';
import { InvalidInputError } from '../../lib/core/errors';
import { ImageInputError } from '../../lib/features/errors';
import { sniffImageFormat } from '../../lib/features/image-format';
import type { SearchIndexKind } from '../../lib/client/owner-state';
import { explainFailure, newKeyRequest, openAccess, PageModels, searchableIndexes, searchWithImage } from './page-search';
import type { ResultImage } from './page-search';
import { deleteRecord, loadRecord, openValue, saveRecord, sealValue } from './vault';
import type { StoredAccess } from './vault';

const $ = <T extends HTMLElement>(id: string) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element as T;
};

type PageState = 'setup' | 'locked' | 'loading-model' | 'ready' | 'searching';

let session: UserSession | undefined;
let models: PageModels | undefined;
let objectUrls: string[] = [];
/** Searches finished (with results or an error), for the browser test to wait on. */
let searchesDone = 0;

function setState(state: PageState): void {
  document.body.dataset.state = state;
  const searchable = state === 'ready';
  $('drop-zone').classList.toggle('disabled', !searchable);
  $<HTMLInputElement>('query-file').disabled = !searchable;
}

function showMessage(text: string, kind: 'error' | 'warning' = 'error'): void {
  const box = document.createElement('p');
  box.className = kind;
  box.textContent = text;
  $('messages').append(box);
}

function clearMessages(): void {
  $('messages').replaceChildren();
}

function showProgress(label: string, done: number, total: number): void {
  $('progress').hidden = false;
  $('progress-label').textContent = label;
  const bar = $<HTMLProgressElement>('progress-bar');
  if (total > 0) {
    bar.max = total;
    bar.value = done;
  } else {
    bar.removeAttribute('value');
  }
}

function hideProgress(): void {
  $('progress').hidden = true;
}

function status(text: string): void {
  $('status').textContent = text;
}

function showAccess(which: 'access-setup' | 'access-locked' | 'access-ready'): void {
  for (const id of ['access-setup', 'access-locked', 'access-ready']) $(id).hidden = id !== which;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Loads the feature model the grant names; the page is ready when it has. */
async function useSession(opened: UserSession): Promise<void> {
  session = opened;
  const { grant } = opened;
  const indexes = searchableIndexes(opened);
  $('grant-summary').textContent =
    `Signed in as "${grant.userId}" for owner ${grant.ownerId}, ${indexes.map((index) => `${index.kind} index "${index.indexName}"`).join(' and ')}. ` +
    `Your access expires ${new Date(grant.tokenExpiresAt).toLocaleString()}.`;
  showKinds(indexes.map((index) => index.kind));
  showAccess('access-ready');
  setState('loading-model');
  const started = performance.now();
  models = new PageModels(({ loadedBytes, totalBytes }) => showProgress(`Loading the feature model (${megabytes(loadedBytes)} of ${megabytes(totalBytes)})`, loadedBytes, totalBytes));
  showProgress('Loading the feature model', 0, 0);
  try {
    await models.extractor(grant.features);
  } catch (error) {
    hideProgress();
    showMessage(explainFailure(error));
    setState('setup');
    return;
  }
  hideProgress();
  const ms = Math.round(performance.now() - started);
  document.body.dataset.modelMs = String(ms);
  status(`Ready: the feature model runs in this page (loaded in ${(ms / 1000).toFixed(1)} s). Drop an image to search.`);
  setState('ready');
}

/** Offers the grant's kinds of index (sealed first, the default); K-anonymity only for SEI. */
function showKinds(kinds: readonly SearchIndexKind[]): void {
  const select = $<HTMLSelectElement>('kind');
  for (const option of Array.from(select.options)) option.hidden = option.disabled = !kinds.includes(option.value as SearchIndexKind);
  if (kinds.length > 0) select.value = kinds[0];
  $('kind-option').hidden = kinds.length < 2;
  $('anonymity-option').hidden = select.value !== 'sei';
}

async function readFile(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

async function importGrant(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  clearMessages();
  const grantFile = $<HTMLInputElement>('grant-file').files?.[0];
  const secretFile = $<HTMLInputElement>('secret-file').files?.[0];
  const keep = (document.querySelector('input[name="keep"]:checked') as HTMLInputElement | null)?.value ?? 'memory';
  const passphrase = $<HTMLInputElement>('import-passphrase').value;
  try {
    if (!grantFile) throw new InvalidInputError('choose the grant file the owner sent you');
    let grant: unknown;
    try {
      grant = JSON.parse(new TextDecoder().decode(await readFile(grantFile)));
    } catch {
      throw new InvalidInputError(`${grantFile.name} is not a grant file (it is not JSON): choose the grant.json the owner sent you`);
    }
    let secret: Uint8Array;
    if (secretFile) {
      secret = await readFile(secretFile);
    } else {
      const pending = await loadRecord('pending-key').catch(() => undefined);
      if (!pending) throw new InvalidInputError('choose your user key file too (user-secret.key): no key request was made on this page');
      secret = (await openValue(pending, passphrase)).secret;
    }
    const access: StoredAccess = { grant, secret };
    const opened = await openAccess(access);
    if (keep === 'vault') {
      await saveRecord('access', await sealValue(access, passphrase));
      await deleteRecord('pending-key');
    }
    ($('import-form') as HTMLFormElement).reset();
    await useSession(opened);
  } catch (error) {
    showMessage(explainFailure(error));
  }
}

async function unlock(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  clearMessages();
  try {
    const record = await loadRecord('access');
    if (!record) {
      showAccess('access-setup');
      setState('setup');
      return;
    }
    const value = await openValue(record, $<HTMLInputElement>('unlock-passphrase').value);
    $<HTMLInputElement>('unlock-passphrase').value = '';
    await useSession(await openAccess({ grant: value.grant, secret: value.secret }));
  } catch (error) {
    showMessage(explainFailure(error));
  }
}

async function forget(): Promise<void> {
  clearMessages();
  await deleteRecord('access').catch(() => undefined);
  session = undefined;
  models = undefined;
  clearResults();
  showAccess('access-setup');
  setState('setup');
  status('The grant was removed from this page.');
}

function makeKeyRequest(): void {
  clearMessages();
  void (async () => {
    try {
      const passphrase = $<HTMLInputElement>('import-passphrase').value;
      const { secret, requestJson } = newKeyRequest(Number($<HTMLInputElement>('request-d').value));
      // W must survive until the grant comes back: it is stored encrypted like a grant.
      await saveRecord('pending-key', await sealValue({ secret }, passphrase));
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([requestJson], { type: 'application/json' }));
      link.download = 'key-request.json';
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      status('Key request downloaded: send key-request.json to the owner privately. Import their grant here with the same passphrase.');
    } catch (error) {
      showMessage(`${explainFailure(error)} (type the passphrase under "Keep it" first: it protects your new key on this device)`);
    }
  })();
}

function clearResults(): void {
  for (const url of objectUrls) URL.revokeObjectURL(url);
  objectUrls = [];
  $('grid').replaceChildren();
  $('results').hidden = true;
}

function openViewer(image: ResultImage): void {
  $<HTMLImageElement>('viewer-image').src = image.url;
  $('viewer-caption').textContent = `#${image.rank}: ${image.imageId} (score ${image.score.toPrecision(4)})`;
  const save = $<HTMLAnchorElement>('viewer-save');
  save.href = image.url;
  save.download = image.imageId.replace(/[^\w.-]+/g, '_');
  $<HTMLDialogElement>('viewer').showModal();
}

function showResults(images: ResultImage[], summary: string): void {
  const grid = $('grid');
  grid.replaceChildren(
    ...images.map((image) => {
      objectUrls.push(image.url);
      const item = document.createElement('li');
      item.dataset.imageId = image.imageId;
      const button = document.createElement('button');
      button.type = 'button';
      button.title = `Open ${image.imageId}`;
      const img = document.createElement('img');
      img.src = image.url;
      img.alt = image.imageId;
      const caption = document.createElement('div');
      caption.className = 'caption';
      const rank = document.createElement('span');
      rank.className = 'rank';
      rank.textContent = `#${image.rank} `;
      const id = document.createElement('span');
      id.className = 'id';
      id.textContent = image.imageId;
      caption.append(rank, id);
      button.append(img, caption);
      button.addEventListener('click', () => openViewer(image));
      item.append(button);
      return item;
    }),
  );
  $('results-summary').textContent = summary;
  $('results').hidden = false;
}

function listener(event: WorkflowEvent): void {
  if (event.type === 'progress') showProgress(event.step === 'query features' ? 'Features of your image (in this page)' : 'Searching and decrypting the results', event.done, event.total);
  else if (event.type === 'warning') showMessage(event.message, 'warning');
}

async function search(file: File): Promise<void> {
  if (!session || !models || document.body.dataset.state !== 'ready') return;
  clearMessages();
  clearResults();
  const preview = $<HTMLImageElement>('query-preview');
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  objectUrls.push(preview.src);
  setState('searching');
  status(`Searching with ${file.name}...`);
  const started = performance.now();
  try {
    const k = Number($<HTMLInputElement>('k').value) || 10;
    const kind = $<HTMLSelectElement>('kind').value as SearchIndexKind;
    const anonymity = Number($<HTMLInputElement>('anonymity').value) || 1;
    const bytes = await readFile(file);
    // Checked here too, so an unusable file is named before anything goes over the network.
    if (sniffImageFormat(bytes) === undefined) throw new ImageInputError(file.name, 'not a JPEG, PNG or WebP image');
    const { outcome, images } = await searchWithImage(session, models, { name: file.name, bytes }, { kind, k, anonymity }, listener);
    const ms = Math.round(performance.now() - started);
    document.body.dataset.searchMs = String(ms);
    // Where the time went (features, routing data, leaves or search, envelopes), for the browser test's measurements.
    document.body.dataset.searchPhases = JSON.stringify(outcome.ms);
    showResults(
      images,
      `${images.length} results from ${outcome.kind} index "${outcome.index}" (version ${outcome.version})` +
        `${outcome.sealed ? `, ${outcome.sealed.realLeaves} of ${outcome.sealed.leavesPerQuery} leaves read` : ''}` +
        `${outcome.anonymity > 1 ? ` with ${outcome.anonymity - 1} decoy queries` : ''}, ` +
        `decrypted here, in ${(ms / 1000).toFixed(2)} s (features ${(outcome.ms.features / 1000).toFixed(2)} s).`,
    );
    status('Done. Click a result to open it.');
  } catch (error) {
    showMessage(explainFailure(error));
    status('');
  } finally {
    hideProgress();
    setState('ready');
    document.body.dataset.searches = String(++searchesDone);
  }
}

function wireDropZone(): void {
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    const file = event.dataTransfer?.files[0];
    if (file) void search(file);
  });
  $<HTMLInputElement>('query-file').addEventListener('change', (event) => {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void search(file);
  });
}

async function start(): Promise<void> {
  $('import-form').addEventListener('submit', (event) => void importGrant(event as SubmitEvent));
  $('unlock-form').addEventListener('submit', (event) => void unlock(event as SubmitEvent));
  $('forget').addEventListener('click', () => void forget());
  $('forget-locked').addEventListener('click', () => void forget());
  $('make-request').addEventListener('click', makeKeyRequest);
  wireDropZone();
  $('kind').addEventListener('change', () => {
    $('anonymity-option').hidden = $<HTMLSelectElement>('kind').value !== 'sei';
  });
  const stored = await loadRecord('access').catch(() => undefined);
  showAccess(stored ? 'access-locked' : 'access-setup');
  setState(stored ? 'locked' : 'setup');
}

void start();

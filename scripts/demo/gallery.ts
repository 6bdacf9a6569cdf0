/**
 * The demo's bundled gallery (scripts/demo/gallery/, made once by make-gallery.ts): Fashion-MNIST
 * PNGs named `<test index>-<class>.png`. Balanced subsets for a smaller demo (--gallery-size).
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GALLERY_DIR = join(dirname(fileURLToPath(import.meta.url)), 'gallery');

/** Fashion-MNIST's classes in label order, as file-name slugs. */
export const GALLERY_CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'] as const;

export interface GalleryImage {
  readonly file: string;
  /** The class slug from the file name. */
  readonly label: string;
}

const NAME = /^(\d{4})-([a-z-]+)\.png$/;

export function labelOf(fileName: string): string | undefined {
  return NAME.exec(fileName)?.[2];
}

/** The gallery's images, by name. */
export async function galleryImages(dir = GALLERY_DIR): Promise<GalleryImage[]> {
  const names = (await readdir(dir)).filter((name) => NAME.test(name)).sort();
  return names.map((file) => ({ file, label: labelOf(file)! }));
}

/**
 * `size` images balanced over the classes: round-robin over the classes, each class in name
 * order, so every size is a deterministic prefix-like subset.
 */
export function balancedSubset(images: readonly GalleryImage[], size: number): GalleryImage[] {
  const byLabel = new Map<string, GalleryImage[]>();
  for (const image of images) {
    const list = byLabel.get(image.label) ?? [];
    list.push(image);
    byLabel.set(image.label, list);
  }
  const lists = [...byLabel.values()];
  const out: GalleryImage[] = [];
  for (let round = 0; out.length < Math.min(size, images.length); round++) {
    for (const list of lists) if (round < list.length && out.length < size) out.push(list[round]);
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** Copies a subset into `target` (created), returning the copied images. */
export async function copySubset(images: readonly GalleryImage[], target: string, source = GALLERY_DIR): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const image of images) await copyFile(join(source, image.file), join(target, image.file));
}

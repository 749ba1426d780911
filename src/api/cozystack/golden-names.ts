/**
 * Cozystack's names for golden images, so a VMDisk written for Cozystack clones the same OS here
 * unchanged. Most of Cozystack's names are already the DataSource names of our catalog
 * (`debian-12`, `rocky-9`…); the rest are renamed here. Both lists are Cozystack's: the current
 * default collection (packages/system/vm-default-images, checked August 2026), and the short names
 * of its older releases (`ubuntu` was 24.04, `fedora` 40).
 */

/** Cozystack's current default collection of golden images. */
export const COZYSTACK_GOLDEN_IMAGES = [
  'ubuntu-20.04',
  'ubuntu-22.04',
  'ubuntu-24.04',
  'debian-12',
  'debian-13',
  'rocky-8',
  'rocky-9',
  'rocky-10',
  'almalinux-8',
  'almalinux-9',
  'almalinux-10',
  'centos-stream-9',
  'centos-stream-10',
  'opensuse-leap-15.6',
  'opensuse-leap-16.0',
  'alpine-3.21',
] as const;

/** The short names of Cozystack's older releases (its vm-disk chart until the golden images moved to vm-default-images). */
export const COZYSTACK_LEGACY_IMAGES = ['ubuntu', 'fedora', 'cirros', 'alpine', 'talos'] as const;

/** Cozystack's name → our catalog's, where they differ. */
const RENAMED: Readonly<Record<string, string>> = {
  'ubuntu-20.04': 'ubuntu-2004',
  'ubuntu-22.04': 'ubuntu-2204',
  'ubuntu-24.04': 'ubuntu-2404',
  ubuntu: 'ubuntu-2404',
  fedora: 'fedora-40',
  // Cozystack's older `alpine` was 3.20; the nearest the catalog offers.
  alpine: 'alpine-3.21',
};

/** The DataSource (in the golden images' namespace) a VMDisk's `source.image.name` means. */
export const goldenImageName = (name: string): string => RENAMED[name] ?? name;

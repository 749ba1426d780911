/**
 * The create wizard's model, kept pure: the form's values, the objects they become (a VirtualMachine
 * and, with an SSH key, the Secret it reads), and which form field each API field path belongs to,
 * so that the Status causes the API server returns land next to the right input.
 */
import { apiVersionOf, SECRETS, VMS } from '../../api/resources';
import type { Secret, StatusCause, VirtualMachine } from '../../api/types';
import { hikubeFieldOfPath, type CreateMode, type HikubeForm } from './hikube';

export interface ImageChoice {
  id: string;
  label: string;
  description: string;
  /** The containerDisk image; empty for the custom entry (the user types it). */
  image: string;
  /** A VirtualMachineClusterPreference name. */
  preference?: string;
  defaultUserData: string;
}

/** The built-in images (`scripts/images/`) plus a custom reference; the images issue adds a catalog. */
const TINY: ImageChoice = {
  id: 'tiny',
  label: 'Hikube tiny',
  description: 'hikube/tiny: a busybox shell on the serial console, boots in seconds. Runs #! user data.',
  image: 'hikube/tiny',
  defaultUserData: '#!/bin/sh\necho "hello from $(hostname)"',
};

export const IMAGES: readonly ImageChoice[] = [
  TINY,
  {
    id: 'debian12',
    label: 'Debian 12',
    description: 'debian:12: cloud-init, OpenSSH server and the QEMU guest agent.',
    image: 'debian:12',
    preference: 'debian',
    defaultUserData:
      '#cloud-config\nuser: debian\npassword: debian\nchpasswd: { expire: false }\nssh_pwauth: false',
  },
  {
    id: 'custom',
    label: 'Custom image',
    description: 'Any containerDisk image reference, e.g. registry:5000/fedora:40.',
    image: '',
    defaultUserData: '#cloud-config\n',
  },
];

/** Both modes' values: the KubeVirt mode reads imageId and customImage, the Hikube mode the rest. */
export interface VmForm extends HikubeForm {
  mode: CreateMode;
  imageId: string;
  customImage: string;
}

export type FormField =
  | 'name'
  | 'namespace'
  | 'instancetype'
  | 'image'
  | 'sshKey'
  | 'userData'
  | 'instanceProfile'
  | 'disk'
  | 'diskSize'
  | 'externalPorts';
export type FieldErrors = { [F in FormField | 'general']?: string[] | undefined };

export const STEP_OF_FIELD: Record<FormField | 'general', 'general' | 'access' | 'review'> = {
  name: 'general',
  namespace: 'general',
  instancetype: 'general',
  image: 'general',
  sshKey: 'access',
  userData: 'access',
  instanceProfile: 'general',
  disk: 'general',
  diskSize: 'general',
  externalPorts: 'access',
  general: 'review',
};

export const imageOf = (form: VmForm): ImageChoice => IMAGES.find((i) => i.id === form.imageId) ?? TINY;
export const imageRef = (form: VmForm): string => {
  const choice = imageOf(form);
  return choice.id === 'custom' ? form.customImage.trim() : choice.image;
};
export const secretNameOf = (form: VmForm): string => `${form.name}-ssh-key`;

export function buildVm(form: VmForm): VirtualMachine {
  const choice = imageOf(form);
  const ssh = form.sshKey.trim() !== '';
  return {
    apiVersion: apiVersionOf(VMS),
    kind: 'VirtualMachine',
    metadata: { name: form.name, namespace: form.namespace },
    spec: {
      runStrategy: form.start ? 'Always' : 'Halted',
      instancetype: { kind: 'VirtualMachineClusterInstancetype', name: form.instancetype },
      ...(choice.preference !== undefined
        ? { preference: { kind: 'VirtualMachineClusterPreference', name: choice.preference } }
        : {}),
      template: {
        spec: {
          domain: {
            devices: {
              disks: [
                { name: 'root', disk: {} },
                { name: 'cloudinit', disk: {} },
              ],
            },
          },
          volumes: [
            { name: 'root', containerDisk: { image: imageRef(form) } },
            { name: 'cloudinit', cloudInitNoCloud: { userData: form.userData } },
          ],
          ...(ssh
            ? {
                accessCredentials: [
                  {
                    sshPublicKey: {
                      source: { secret: { secretName: secretNameOf(form) } },
                      propagationMethod: { noCloud: {} },
                    },
                  },
                ],
              }
            : {}),
        },
      },
    },
  };
}

export function buildSecret(form: VmForm): Secret | undefined {
  const key = form.sshKey.trim();
  if (key === '') return undefined;
  return {
    apiVersion: apiVersionOf(SECRETS),
    kind: 'Secret',
    metadata: { name: secretNameOf(form), namespace: form.namespace },
    type: 'Opaque',
    data: { key: base64(`${key}\n`) },
  };
}

const base64 = (text: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

/** Which form field an API field path belongs to (`spec.template.spec.volumes[0].containerDisk.image` → image). */
export type CreatedObject = 'vm' | 'secret' | 'vmdisk' | 'vminstance';

export function fieldOfPath(path: string, object: CreatedObject): FormField | 'general' {
  if (object === 'vmdisk' || object === 'vminstance') return hikubeFieldOfPath(path, object);
  if (object === 'secret') return 'sshKey';
  if (path === 'metadata.name' || path.startsWith('metadata.name')) return 'name';
  if (path.startsWith('metadata.namespace')) return 'namespace';
  if (path.startsWith('spec.instancetype')) return 'instancetype';
  if (path.startsWith('spec.preference')) return 'image';
  if (path.startsWith('spec.template.spec.volumes[0]')) return 'image';
  if (path.startsWith('spec.template.spec.volumes[1]')) return 'userData';
  if (path.startsWith('spec.template.spec.accessCredentials')) return 'sshKey';
  return 'general';
}

/** Sorts the causes of a Status onto the form's fields; a Status without causes goes to `general`. */
export function errorsFromStatus(
  message: string,
  causes: readonly StatusCause[],
  object: CreatedObject,
): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: FormField | 'general', text: string) =>
    (errors[field] = [...(errors[field] ?? []), text]);
  for (const c of causes) {
    const field = fieldOfPath(c.field ?? '', object);
    add(field, field === 'general' && c.field !== undefined ? `${c.field}: ${c.message}` : c.message);
  }
  if (causes.length === 0) {
    if (/namespaces? "[^"]*" not found/.test(message)) add('namespace', message);
    else add(object === 'secret' ? 'sshKey' : 'general', message);
  }
  return errors;
}

export const SSH_KEY =
  /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

/** Checks the browser can make before asking the server: key lines that cannot be keys. */
export function checkSshKey(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const bad = lines.findIndex((l) => !SSH_KEY.test(l));
  return bad < 0 ? undefined : `Line ${bad + 1} is not an OpenSSH public key (ssh-ed25519 AAAA… comment)`;
}

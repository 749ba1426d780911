/**
 * What "Next" and "Create" do: local checks, then the API server's own (a dry run of each object),
 * then the real writes in an order that leaves nothing half-made behind.
 */
import { api, ApiStatusError, errorMessage } from '../../api/client';
import { resourcePath, SECRETS, VMDISKS, VMINSTANCES, VMS } from '../../api/resources';
import type { VirtualMachine } from '../../api/types';
import { buildVmDisk, buildVmInstance, diskNameOf, parsePorts } from './hikube';
import {
  buildSecret,
  buildVm,
  checkSshKey,
  errorsFromStatus,
  secretNameOf,
  type CreatedObject,
  type FieldErrors,
  type VmForm,
} from './model';
import { checkUserData } from './userdata';

/** Local checks first (user data, SSH key), then the server's own with a dry run of each object. */
export async function check(form: VmForm, step: string): Promise<FieldErrors> {
  const errors: FieldErrors = {};
  if (step !== 'general') {
    const ud = checkUserData(form.userData);
    if (ud !== undefined) errors.userData = [ud];
    const key = checkSshKey(form.sshKey);
    if (key !== undefined) errors.sshKey = [key];
    if (form.mode === 'hikube' && form.external && parsePorts(form.externalPorts) === undefined)
      errors.externalPorts = ['Ports are whole numbers separated by commas or spaces, e.g. 22, 80'];
    if (Object.keys(errors).length > 0) return errors;
  }
  const dry = { fieldValidation: 'Strict', dryRun: 'All' };
  if (form.mode === 'hikube') {
    // The instance without its disk: the disk does not exist until the real create.
    return (
      (await attempt('vmdisk', () =>
        api.create(resourcePath(VMDISKS, form.namespace), buildVmDisk(form), dry),
      )) ??
      (await attempt('vminstance', () =>
        api.create(resourcePath(VMINSTANCES, form.namespace), buildVmInstance(form, false), dry),
      )) ??
      {}
    );
  }
  const secret = buildSecret(form);
  return (
    (await attempt('vm', () => api.create(resourcePath(VMS, form.namespace), buildVm(form), dry))) ??
    (secret !== undefined && step !== 'general'
      ? await attempt('secret', () => api.create(resourcePath(SECRETS, form.namespace), secret, dry))
      : undefined) ??
    {}
  );
}

/**
 * Creates the SSH key's Secret, then the VM (so the guest finds its key at first boot), then makes
 * the VM the Secret's owner so that deleting the VM deletes it. A refused VM takes its Secret back.
 */
export async function create(form: VmForm): Promise<FieldErrors> {
  const checked = await check(form, 'review');
  if (Object.values(checked).some((e) => e !== undefined)) return checked;
  if (form.mode === 'hikube') return createHikube(form);
  const secret = buildSecret(form);
  const secrets = resourcePath(SECRETS, form.namespace);
  if (secret !== undefined) {
    const failed = await attempt('secret', () => api.create(secrets, secret));
    if (failed !== undefined) return failed;
  }
  let vm: VirtualMachine | undefined;
  const failed = await attempt('vm', async () => {
    vm = await api.create<VirtualMachine>(resourcePath(VMS, form.namespace), buildVm(form), {
      fieldValidation: 'Strict',
    });
  });
  if (failed !== undefined) {
    if (secret !== undefined)
      await api.delete(`${secrets}/${encodeURIComponent(secretNameOf(form))}`).catch(() => undefined);
    return failed;
  }
  if (secret !== undefined && vm !== undefined) {
    const owner = {
      apiVersion: vm.apiVersion,
      kind: vm.kind,
      name: vm.metadata.name ?? '',
      uid: vm.metadata.uid ?? '',
    };
    await api
      .mergePatch(`${secrets}/${encodeURIComponent(secretNameOf(form))}`, {
        metadata: { ownerReferences: [owner] },
      })
      .catch(() => undefined); // the VM runs either way; the Secret then outlives it
  }
  return {};
}

/**
 * The VMDisk, then the VMInstance that boots from it; a refused instance takes its disk back (a
 * VMDisk outlives instances on purpose, so nothing else would).
 */
async function createHikube(form: VmForm): Promise<FieldErrors> {
  const disks = resourcePath(VMDISKS, form.namespace);
  const failed = await attempt('vmdisk', () =>
    api.create(disks, buildVmDisk(form), { fieldValidation: 'Strict' }),
  );
  if (failed !== undefined) return failed;
  const refused = await attempt('vminstance', () =>
    api.create(resourcePath(VMINSTANCES, form.namespace), buildVmInstance(form), {
      fieldValidation: 'Strict',
    }),
  );
  if (refused !== undefined) {
    await api.delete(`${disks}/${encodeURIComponent(diskNameOf(form))}`).catch(() => undefined);
    return refused;
  }
  return {};
}

/** Runs one API call; a refusal becomes the form's field errors. */
async function attempt(
  object: CreatedObject,
  call: () => Promise<unknown>,
): Promise<FieldErrors | undefined> {
  try {
    await call();
    return undefined;
  } catch (err) {
    if (err instanceof ApiStatusError) return errorsFromStatus(err.message, err.causes, object);
    return { general: [errorMessage(err)] };
  }
}

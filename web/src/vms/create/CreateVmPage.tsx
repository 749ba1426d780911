/**
 * The create wizard: general (what to create, name, namespace, instance type, image or disk),
 * access (SSH key, cloud-init user data, external ports), review (the YAML of what will be created).
 * It creates a Hikube VMInstance and its VMDisk (the default, as Hikube's dashboard does, when the
 * server serves apps.cozystack.io) or a KubeVirt VirtualMachine. "Next" asks the API server to
 * validate with a dry run, so its field errors (Status causes) show next to the fields before
 * anything is created.
 */
import {
  Alert,
  Checkbox,
  CodeBlock,
  CodeBlockCode,
  Form,
  FormGroup,
  FormHelperText,
  FormSelect,
  FormSelectOption,
  HelperText,
  HelperTextItem,
  PageSection,
  Radio,
  TextArea,
  TextInput,
  Title,
  Wizard,
  WizardFooter,
  WizardStep,
  useWizardContext,
} from '@patternfly/react-core';
import { Table, Tbody, Td, Th, Thead, Tr } from '@patternfly/react-table';
import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { stringify } from 'yaml';
import { STORAGE_ANNOTATION } from '../../../../src/api/catalog.js';
import { parseQuantity } from '../../../../src/api/quantity.js';
import { useApiGroup } from '../../api/discovery';
import {
  CLUSTER_INSTANCETYPES,
  CLUSTER_PREFERENCES,
  COZYSTACK_GROUP,
  DATASOURCES,
  NAMESPACES,
  OS_IMAGES_NAMESPACE,
} from '../../api/resources';
import type { ClusterInstancetype, ClusterPreference, DataSource, KubeObject } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { useAccess } from '../../auth/AccessContext';
import { navigate } from '../../app/router';
import {
  buildSecret,
  buildVm,
  IMAGES,
  imageOf,
  STEP_OF_FIELD,
  type FieldErrors,
  type FormField,
  type VmForm,
} from './model';
import { buildVmDisk, buildVmInstance, diskNameOf } from './hikube';
import { check, create } from './submit';

const initialForm: VmForm = {
  mode: 'hikube',
  name: '',
  namespace: 'default',
  instancetype: 'u1.small',
  imageId: 'tiny',
  customImage: '',
  sshKey: '',
  userData: IMAGES[0]?.defaultUserData ?? '',
  start: true,
  instanceProfile: '',
  diskSource: 'image',
  diskImage: '',
  diskUrl: '',
  diskSize: '5Gi',
  external: false,
  externalPorts: '22',
};

/** Which form field an input belongs to, for clearing its errors when it changes. */
const FIELD_OF: Partial<Record<keyof VmForm, FormField>> = {
  customImage: 'image',
  imageId: 'image',
  diskSource: 'disk',
  diskImage: 'disk',
  diskUrl: 'disk',
  external: 'externalPorts',
};

const DEFAULT_PREFERENCE_LABEL = 'instancetype.kubevirt.io/default-preference';
const DISPLAY_NAME_ANNOTATION = 'os.hikube.io/display-name';
const isReady = (d: DataSource): boolean =>
  d.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

export default function CreateVmPage() {
  const access = useAccess();
  const [form, setForm] = useState<VmForm>(() => ({
    ...initialForm,
    namespace: access.namespace ?? initialForm.namespace,
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = <K extends keyof VmForm>(key: K, value: VmForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    if (key === 'mode') setErrors({});
    else setErrors((e) => ({ ...e, [FIELD_OF[key] ?? key]: undefined, general: undefined }));
  };
  const namespaces = useWatchList<KubeObject>(NAMESPACES);
  const types = useWatchList<ClusterInstancetype>(CLUSTER_INSTANCETYPES);
  const hikube = useApiGroup(COZYSTACK_GROUP);
  const served = hikube !== null && hikube !== undefined;
  const preferences = useWatchList<ClusterPreference>(CLUSTER_PREFERENCES, { enabled: served });
  const images = useWatchList<DataSource>(DATASOURCES, { namespace: OS_IMAGES_NAMESPACE, enabled: served });
  const catalog = useMemo(
    () => [...images.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')),
    [images.items],
  );
  // Without Hikube's kinds on this server, the wizard makes a VirtualMachine.
  useEffect(() => {
    if (hikube === null) setForm((f) => ({ ...f, mode: 'kubevirt' }));
  }, [hikube]);
  const pickImage = (d: DataSource | undefined) => {
    if (d === undefined) return;
    set('diskImage', d.metadata.name ?? '');
    const preference = d.metadata.labels?.[DEFAULT_PREFERENCE_LABEL];
    if (preference !== undefined) set('instanceProfile', preference);
  };
  // The first golden image that is ready, once the catalog is known.
  useEffect(() => {
    if (form.diskImage === '' && catalog.length > 0) pickImage(catalog.find(isReady) ?? catalog[0]);
  }, [catalog]);
  const hikubeMode = form.mode === 'hikube';

  return (
    <>
      <PageSection>
        <Title headingLevel="h1">Create a virtual machine</Title>
      </PageSection>
      <PageSection isFilled aria-label="Create VM wizard">
        <Wizard
          height={640}
          onClose={() => navigate({ page: 'vms' })}
          footer={<Footer form={form} setErrors={setErrors} />}
          isVisitRequired
        >
          <WizardStep name="General" id="general">
            <Form onSubmit={(e) => e.preventDefault()} aria-label="General">
              <FormGroup label="Create" isRequired role="radiogroup" fieldId="vm-mode" isStack>
                <Radio
                  id="vm-mode-hikube"
                  name="vm-mode"
                  label="Hikube VMInstance + VMDisk (default)"
                  description={
                    hikube === null
                      ? `This server does not serve ${COZYSTACK_GROUP}.`
                      : "A VMDisk that outlives the VM and a VMInstance booting from it, as Hikube's dashboard creates them."
                  }
                  isChecked={hikubeMode}
                  isDisabled={hikube === null}
                  onChange={() => set('mode', 'hikube')}
                />
                <Radio
                  id="vm-mode-kubevirt"
                  name="vm-mode"
                  label="KubeVirt VirtualMachine"
                  description="A VirtualMachine with a container disk root (reset at each start) and cloud-init."
                  isChecked={!hikubeMode}
                  onChange={() => set('mode', 'kubevirt')}
                />
              </FormGroup>
              <FormGroup label="Name" isRequired fieldId="vm-name">
                <TextInput
                  id="vm-name"
                  value={form.name}
                  onChange={(_e, v) => set('name', v)}
                  isRequired
                  validated={errors.name !== undefined ? 'error' : 'default'}
                  aria-describedby="vm-name-help"
                />
                <FieldHelp id="vm-name-help" errors={errors.name}>
                  Lowercase letters, digits and dashes; the guest's hostname too.
                </FieldHelp>
              </FormGroup>
              <FormGroup label="Namespace" isRequired fieldId="vm-namespace">
                <FormSelect
                  id="vm-namespace"
                  value={form.namespace}
                  onChange={(_e, v) => set('namespace', v)}
                  validated={errors.namespace !== undefined ? 'error' : 'default'}
                  aria-describedby="vm-namespace-help"
                >
                  {(namespaces.items.length > 0
                    ? namespaces.items
                    : access.namespaces.length > 0
                      ? access.namespaces.map((name) => ({ metadata: { name } }))
                      : [{ metadata: { name: 'default' } }]
                  ).map((n) => (
                    <FormSelectOption
                      key={n.metadata.name}
                      value={n.metadata.name}
                      label={n.metadata.name ?? ''}
                    />
                  ))}
                </FormSelect>
                <FieldHelp id="vm-namespace-help" errors={errors.namespace} />
              </FormGroup>
              <FormGroup label="Instance type" isRequired role="radiogroup" fieldId="vm-instancetype" isStack>
                <InstancetypeTable
                  types={types.items}
                  value={form.instancetype}
                  onChange={(v) => set('instancetype', v)}
                />
                <FieldHelp id="vm-instancetype-help" errors={errors.instancetype} />
              </FormGroup>
              {hikubeMode ? (
                <HikubeDisk
                  form={form}
                  errors={errors}
                  set={set}
                  catalog={catalog}
                  preferences={preferences.items}
                  pickImage={pickImage}
                />
              ) : (
                <>
                  <FormGroup
                    label="Operating system image"
                    isRequired
                    role="radiogroup"
                    fieldId="vm-image"
                    isStack
                  >
                    {IMAGES.map((img) => (
                      <Radio
                        key={img.id}
                        id={`vm-image-${img.id}`}
                        name="vm-image"
                        label={img.label}
                        description={img.description}
                        isChecked={form.imageId === img.id}
                        onChange={() => {
                          set('imageId', img.id);
                          if (form.userData === imageOf(form).defaultUserData)
                            set('userData', img.defaultUserData);
                        }}
                      />
                    ))}
                    {form.imageId === 'custom' && (
                      <TextInput
                        id="vm-custom-image"
                        aria-label="Custom image reference"
                        placeholder="registry:5000/fedora:40"
                        value={form.customImage}
                        onChange={(_e, v) => set('customImage', v)}
                        validated={errors.image !== undefined ? 'error' : 'default'}
                      />
                    )}
                    <FieldHelp id="vm-image-help" errors={errors.image} />
                  </FormGroup>
                </>
              )}
              <Checkbox
                id="vm-start"
                label="Start the VM once created"
                isChecked={form.start}
                onChange={(_e, v) => set('start', v)}
              />
            </Form>
          </WizardStep>
          <WizardStep name="Access and cloud-init" id="access">
            <Form onSubmit={(e) => e.preventDefault()} aria-label="Access and cloud-init">
              <FormGroup label="SSH public key" fieldId="vm-ssh-key">
                <TextArea
                  id="vm-ssh-key"
                  className="hk-mono"
                  value={form.sshKey}
                  onChange={(_e, v) => set('sshKey', v)}
                  rows={3}
                  resizeOrientation="vertical"
                  placeholder="ssh-ed25519 AAAAC3Nza… you@laptop"
                  validated={errors.sshKey !== undefined ? 'error' : 'default'}
                  aria-describedby="vm-ssh-key-help"
                />
                <FieldHelp id="vm-ssh-key-help" errors={errors.sshKey}>
                  Optional. Kept in a Secret and given to the guest through cloud-init (accessCredentials).
                </FieldHelp>
              </FormGroup>
              <FormGroup label="Cloud-init user data" fieldId="vm-user-data">
                <TextArea
                  id="vm-user-data"
                  className="hk-mono"
                  value={form.userData}
                  onChange={(_e, v) => set('userData', v)}
                  rows={10}
                  resizeOrientation="vertical"
                  spellCheck={false}
                  validated={errors.userData !== undefined ? 'error' : 'default'}
                  aria-describedby="vm-user-data-help"
                />
                <FieldHelp id="vm-user-data-help" errors={errors.userData}>
                  #cloud-config YAML, or a script starting with #!.
                </FieldHelp>
              </FormGroup>
              {hikubeMode && (
                <FormGroup label="External access" fieldId="vm-external" isStack>
                  <Checkbox
                    id="vm-external"
                    label="Reachable on a load balancer address (external)"
                    isChecked={form.external}
                    onChange={(_e, v) => set('external', v)}
                  />
                  {form.external && (
                    <TextInput
                      id="vm-external-ports"
                      aria-label="External ports"
                      value={form.externalPorts}
                      onChange={(_e, v) => set('externalPorts', v)}
                      validated={errors.externalPorts !== undefined ? 'error' : 'default'}
                      aria-describedby="vm-external-ports-help"
                    />
                  )}
                  <FieldHelp id="vm-external-ports-help" errors={errors.externalPorts}>
                    {form.external
                      ? 'The ports forwarded to the guest (externalPorts), e.g. 22, 80.'
                      : 'Without it the VM gets a DNS name inside the cluster only.'}
                  </FieldHelp>
                </FormGroup>
              )}
            </Form>
          </WizardStep>
          <WizardStep name="Review" id="review">
            <Review form={form} errors={errors.general} />
          </WizardStep>
        </Wizard>
      </PageSection>
    </>
  );
}

function FieldHelp({
  id,
  errors,
  children,
}: {
  id: string;
  errors: string[] | undefined;
  children?: ReactNode;
}) {
  if (errors === undefined && children === undefined) return null;
  return (
    <FormHelperText>
      <HelperText id={id} isLiveRegion>
        {errors !== undefined ? (
          errors.map((e) => (
            <HelperTextItem key={e} variant="error" data-testid={`${id.replace(/-help$/, '')}-error`}>
              {e}
            </HelperTextItem>
          ))
        ) : (
          <HelperTextItem>{children}</HelperTextItem>
        )}
      </HelperText>
    </FormHelperText>
  );
}

/** The Hikube mode's boot disk: a golden image of the OS catalog or an http URL, its size, the profile. */
function HikubeDisk({
  form,
  errors,
  set,
  catalog,
  preferences,
  pickImage,
}: {
  form: VmForm;
  errors: FieldErrors;
  set: <K extends keyof VmForm>(key: K, value: VmForm[K]) => void;
  catalog: DataSource[];
  preferences: ClusterPreference[];
  pickImage: (d: DataSource | undefined) => void;
}) {
  const diskName = diskNameOf({ name: form.name === '' ? 'NAME' : form.name });
  return (
    <>
      <FormGroup
        label={`System disk (VMDisk ${diskName})`}
        isRequired
        role="radiogroup"
        fieldId="vm-disk"
        isStack
      >
        <Radio
          id="vm-disk-image"
          name="vm-disk-source"
          label="An image of the OS catalog"
          isChecked={form.diskSource === 'image'}
          onChange={() => set('diskSource', 'image')}
        />
        {form.diskSource === 'image' && (
          <FormSelect
            id="vm-disk-catalog"
            aria-label="Catalog image"
            value={form.diskImage}
            onChange={(_e, v) => pickImage(catalog.find((d) => d.metadata.name === v))}
            validated={errors.disk !== undefined ? 'error' : 'default'}
            aria-describedby="vm-disk-help"
          >
            {catalog.length === 0 && <FormSelectOption value="" label="No image in the catalog" isDisabled />}
            {catalog.map((d) => {
              const name = d.metadata.name ?? '';
              const display = d.metadata.annotations?.[DISPLAY_NAME_ANNOTATION] ?? name;
              return (
                <FormSelectOption
                  key={name}
                  value={name}
                  label={`${display} (${name})${isReady(d) ? '' : ': not imported yet'}`}
                />
              );
            })}
          </FormSelect>
        )}
        <Radio
          id="vm-disk-http"
          name="vm-disk-source"
          label="An image at an http(s) URL"
          isChecked={form.diskSource === 'http'}
          onChange={() => set('diskSource', 'http')}
        />
        {form.diskSource === 'http' && (
          <TextInput
            id="vm-disk-url"
            aria-label="Image URL"
            placeholder="https://example.org/disk.qcow2"
            value={form.diskUrl}
            onChange={(_e, v) => set('diskUrl', v)}
            validated={errors.disk !== undefined ? 'error' : 'default'}
            aria-describedby="vm-disk-help"
          />
        )}
        <FieldHelp id="vm-disk-help" errors={errors.disk}>
          Golden images are DataSources of namespace {OS_IMAGES_NAMESPACE}; the disk is a copy of one.
        </FieldHelp>
      </FormGroup>
      <FormGroup label="Disk size" isRequired fieldId="vm-disk-size">
        <TextInput
          id="vm-disk-size"
          isRequired
          value={form.diskSize}
          onChange={(_e, v) => set('diskSize', v)}
          validated={errors.diskSize !== undefined ? 'error' : 'default'}
          aria-describedby="vm-disk-size-help"
        />
        <FieldHelp id="vm-disk-size-help" errors={errors.diskSize}>
          At least the image&apos;s size; it may grow later, never shrink.
        </FieldHelp>
      </FormGroup>
      <FormGroup label="Instance profile" fieldId="vm-profile">
        <FormSelect
          id="vm-profile"
          value={form.instanceProfile}
          onChange={(_e, v) => set('instanceProfile', v)}
          validated={errors.instanceProfile !== undefined ? 'error' : 'default'}
          aria-describedby="vm-profile-help"
        >
          <FormSelectOption value="" label="None" />
          {[...preferences]
            .map((p) => p.metadata.name ?? '')
            .sort()
            .map((n) => (
              <FormSelectOption key={n} value={n} label={n} />
            ))}
        </FormSelect>
        <FieldHelp id="vm-profile-help" errors={errors.instanceProfile}>
          Devices and firmware for the guest OS (a VirtualMachineClusterPreference); the image suggests one.
        </FieldHelp>
      </FormGroup>
    </>
  );
}

function InstancetypeTable({
  types,
  value,
  onChange,
}: {
  types: ClusterInstancetype[];
  value: string;
  onChange: (name: string) => void;
}) {
  return (
    <Table aria-label="Instance types" variant="compact" isStriped>
      <Thead>
        <Tr>
          <Th screenReaderText="Choice" />
          <Th>Name</Th>
          <Th>vCPU</Th>
          <Th>Memory</Th>
          <Th>Disk</Th>
          <Th>For</Th>
        </Tr>
      </Thead>
      <Tbody>
        {[...types].sort(bySize).map((t) => {
          const name = t.metadata.name ?? '';
          return (
            <Tr key={name} isClickable onRowClick={() => onChange(name)} isRowSelected={value === name}>
              <Td className="pf-v6-c-table__check">
                <Radio
                  id={`vm-instancetype-${name}`}
                  name="vm-instancetype"
                  aria-label={`Instance type ${name}`}
                  isChecked={value === name}
                  onChange={() => onChange(name)}
                />
              </Td>
              <Td dataLabel="Name">{name}</Td>
              <Td dataLabel="vCPU">{t.spec.cpu.guest}</Td>
              <Td dataLabel="Memory">{String(t.spec.memory.guest)}</Td>
              <Td dataLabel="Disk">{t.metadata.annotations?.[STORAGE_ANNOTATION] ?? ''}</Td>
              <Td dataLabel="For">
                {t.metadata.annotations?.['instancetype.kubevirt.io/description'] ?? ''}
              </Td>
            </Tr>
          );
        })}
      </Tbody>
    </Table>
  );
}

function Review({ form, errors }: { form: VmForm; errors: string[] | undefined }) {
  const yaml = useMemo(() => {
    const objects =
      form.mode === 'hikube'
        ? [buildVmDisk(form), buildVmInstance(form)]
        : [buildSecret(form), buildVm(form)];
    return objects
      .filter((o) => o !== undefined)
      .map((o) => stringify(o))
      .join('---\n');
  }, [form]);
  return (
    <>
      {errors !== undefined && (
        <Alert variant="danger" isInline title="The API server refused this VM" data-testid="create-error">
          <ul>
            {errors.map((e) => (
              <li key={e}>{e}</li>
            ))}
          </ul>
        </Alert>
      )}
      <Title headingLevel="h2" size="md">
        What will be created
      </Title>
      <CodeBlock>
        <CodeBlockCode data-testid="create-yaml">{yaml}</CodeBlockCode>
      </CodeBlock>
    </>
  );
}

function Footer({ form, setErrors }: { form: VmForm; setErrors: (e: FieldErrors) => void }) {
  const { activeStep, goToNextStep, goToPrevStep, goToStepById, close } = useWizardContext();
  const [busy, setBusy] = useState(false);
  const step = String(activeStep.id);
  const next = async () => {
    setBusy(true);
    try {
      const errors = step === 'review' ? await create(form) : await check(form, step);
      setErrors(errors);
      const fields = (Object.keys(errors) as (FormField | 'general')[]).filter(
        (f) => errors[f] !== undefined,
      );
      if (fields.length === 0) {
        if (step === 'review')
          navigate(
            form.mode === 'hikube'
              ? { page: 'vminstances' }
              : { page: 'vm', namespace: form.namespace, name: form.name, tab: 'overview' },
          );
        else await goToNextStep();
        return;
      }
      const target = fields.map((f) => STEP_OF_FIELD[f]).sort(stepOrder)[0];
      if (target !== undefined && target !== step) goToStepById(target);
    } finally {
      setBusy(false);
    }
  };
  return (
    <WizardFooter
      activeStep={activeStep}
      onNext={() => void next()}
      onBack={() => void goToPrevStep()}
      onClose={close}
      nextButtonText={step === 'review' ? 'Create' : 'Next'}
      isNextDisabled={busy || form.name.trim() === ''}
      isBackDisabled={step === 'general'}
    />
  );
}

const ORDER = ['general', 'access', 'review'];
const stepOrder = (a: string, b: string): number => ORDER.indexOf(a) - ORDER.indexOf(b);

/** Smallest first: vCPU, then memory, then name. */
function bySize(a: ClusterInstancetype, b: ClusterInstancetype): number {
  const memory = (t: ClusterInstancetype) => parseQuantity(t.spec.memory.guest)?.value ?? 0;
  return (
    a.spec.cpu.guest - b.spec.cpu.guest ||
    memory(a) - memory(b) ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '')
  );
}

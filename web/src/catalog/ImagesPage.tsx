/**
 * Images: the DataSources that name golden images, and the DataVolumes that import them, with each
 * import's phase and progress bar live from `status.progress`. "Import image" creates a DataVolume
 * from an http(s) URL or a registry reference (docker://…); "Make golden image" names a
 * DataVolume's claim with a DataSource.
 */
import {
  FormGroup,
  FormSelect,
  FormSelectOption,
  Progress,
  ProgressMeasureLocation,
  ProgressSize,
  TextInput,
} from '@patternfly/react-core';
import { useState } from 'react';
import { api, ApiStatusError, authHeaders } from '../api/client';
import { DATASOURCES, DATAVOLUMES, resourcePath } from '../api/resources';
import type { DataSource, DataVolume } from '../api/types';
import { useWatchList } from '../api/useWatch';
import { useScope } from '../auth/AccessContext';
import { FormModal } from '../components/FormModal';
import { ImportPhase } from '../components/ImportPhase';
import { useNotices } from '../components/Notices';
import { ResourceTable, type Column } from '../components/ResourceTable';
import { nameOf, namespaceOf } from '../vms/selectors';
import { CatalogPage, Empty, SectionTitle } from './CatalogPage';
import { useDelete } from './DeleteButton';
import { CreateButton, useMay, whyNot } from './gate';
import { RowMenu } from '../components/RowMenu';
import {
  dataSourceFor,
  importDataVolume,
  requestedSize,
  sourceOf,
  uploadPath,
  type ImportForm,
} from './images';

const key = (o: { metadata: { name?: string; namespace?: string } }) => `${namespaceOf(o)}/${nameOf(o)}`;

const dataSourceColumns: Column<DataSource>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf },
  {
    id: 'pvc',
    title: 'PVC',
    cell: (d) =>
      d.spec.source.pvc !== undefined
        ? `${d.spec.source.pvc.namespace ?? namespaceOf(d)}/${d.spec.source.pvc.name}`
        : '',
  },
  {
    id: 'ready',
    title: 'Ready',
    cell: (d) => d.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'Unknown',
  },
];

function ProgressCell({ dv }: { dv: DataVolume }) {
  return <ImportPhase name={nameOf(dv)} phase={dv.status?.phase} progress={dv.status?.progress} />;
}

const dataVolumeColumns: Column<DataVolume>[] = [
  { id: 'name', title: 'Name', cell: nameOf, sortValue: nameOf },
  { id: 'namespace', title: 'Namespace', cell: namespaceOf, sortValue: namespaceOf, visibleFrom: 'md' },
  {
    id: 'source',
    title: 'Source',
    cell: (d) => <span className="hk-mono hk-break">{sourceOf(d)}</span>,
    visibleFrom: 'md',
  },
  { id: 'size', title: 'Size', cell: requestedSize },
  { id: 'phase', title: 'Phase', cell: (d) => <ProgressCell dv={d} />, width: 25 },
];

export default function ImagesPage() {
  const scope = useScope();
  const sources = useWatchList<DataSource>(DATASOURCES, scope);
  const volumes = useWatchList<DataVolume>(DATAVOLUMES, scope);
  const [importing, setImporting] = useState(false);
  const [publishing, setPublishing] = useState<DataVolume | undefined>(undefined);
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const may = useMay();
  return (
    <CatalogPage
      title="Images"
      description="Golden images (DataSources) and the DataVolumes that import disk images."
      loaded={sources.loaded && volumes.loaded}
      error={sources.error ?? volumes.error}
      toolbar={
        <CreateButton
          id="import-image"
          allowed={may('create', DATAVOLUMES)}
          onClick={() => setImporting(true)}
        >
          Import image
        </CreateButton>
      }
    >
      {notices}
      <SectionTitle>DataSources</SectionTitle>
      {sources.items.length === 0 ? (
        <Empty>No DataSource yet.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="DataSources"
          rows={sources.items}
          rowKey={key}
          columns={dataSourceColumns}
        />
      )}
      <SectionTitle>DataVolumes</SectionTitle>
      {volumes.items.length === 0 ? (
        <Empty>No DataVolume yet: import an image by URL or from a registry.</Empty>
      ) : (
        <ResourceTable
          ariaLabel="DataVolumes"
          rows={volumes.items}
          rowKey={key}
          columns={dataVolumeColumns}
          rowActions={(d) => (
            <RowMenu
              label={`Actions for DataVolume "${nameOf(d)}"`}
              items={[
                {
                  id: 'publish',
                  label: 'Make golden image',
                  onClick: () => setPublishing(d),
                  why:
                    d.status?.phase === 'Succeeded'
                      ? whyNot(may('create', DATASOURCES, namespaceOf(d)))
                      : 'The import has not finished',
                },
                {
                  id: 'delete',
                  label: 'Delete',
                  danger: true,
                  why: whyNot(may('delete', DATAVOLUMES, namespaceOf(d))),
                  onClick: () =>
                    remove.ask(
                      resourcePath(DATAVOLUMES, namespaceOf(d), nameOf(d)),
                      `DataVolume "${nameOf(d)}"`,
                    ),
                },
              ]}
            />
          )}
        />
      )}
      {remove.modal}
      {importing && <ImportModal onClose={() => setImporting(false)} />}
      {publishing !== undefined && (
        <PublishModal dataVolume={publishing} onClose={() => setPublishing(undefined)} />
      )}
    </CatalogPage>
  );
}

function ImportModal({ onClose }: { onClose: () => void }) {
  const [form, setForm] = useState<ImportForm>({
    name: '',
    namespace: 'default',
    kind: 'http',
    url: '',
    size: '10Gi',
  });
  const [file, setFile] = useState<File | undefined>(undefined);
  const [sent, setSent] = useState<number | undefined>(undefined);
  const set = (patch: Partial<ImportForm>) => setForm((f) => ({ ...f, ...patch }));
  const submit = async () => {
    if (form.kind === 'upload' && file === undefined) throw new Error('Choose the disk image file to upload');
    const dv = importDataVolume(form);
    await api.create(resourcePath(DATAVOLUMES, form.namespace), dv);
    if (form.kind !== 'upload' || file === undefined) return;
    const name = dv.metadata.name ?? '';
    await untilUploadReady(form.namespace, name);
    setSent(0);
    await uploadFile(uploadPath(form.namespace, name), file, setSent);
  };
  return (
    <FormModal id="import" title="Import an image" submitLabel="Import" onSubmit={submit} onClose={onClose}>
      <FormGroup label="Name" isRequired fieldId="import-name">
        <TextInput id="import-name" isRequired value={form.name} onChange={(_e, v) => set({ name: v })} />
      </FormGroup>
      <FormGroup label="Namespace" isRequired fieldId="import-namespace">
        <TextInput
          id="import-namespace"
          isRequired
          value={form.namespace}
          onChange={(_e, v) => set({ namespace: v })}
        />
      </FormGroup>
      <FormGroup label="Source" fieldId="import-kind">
        <FormSelect
          id="import-kind"
          value={form.kind}
          onChange={(_e, v) => set({ kind: v as ImportForm['kind'] })}
        >
          <FormSelectOption value="http" label="URL (http or https)" />
          <FormSelectOption value="registry" label="Registry (docker://image:tag)" />
          <FormSelectOption value="upload" label="Upload a file from this computer" />
        </FormSelect>
      </FormGroup>
      {form.kind === 'upload' ? (
        <FormGroup
          label="Disk image (qcow2, raw, ISO, VMDK, VHD(X); gz or xz)"
          isRequired
          fieldId="import-file"
        >
          <input
            id="import-file"
            type="file"
            required
            onChange={(e) => setFile(e.currentTarget.files?.[0] ?? undefined)}
          />
        </FormGroup>
      ) : (
        <FormGroup label={form.kind === 'http' ? 'URL' : 'Image reference'} isRequired fieldId="import-url">
          <TextInput id="import-url" isRequired value={form.url} onChange={(_e, v) => set({ url: v })} />
        </FormGroup>
      )}
      <FormGroup label="Disk size" isRequired fieldId="import-size">
        <TextInput id="import-size" isRequired value={form.size} onChange={(_e, v) => set({ size: v })} />
      </FormGroup>
      {sent !== undefined && (
        <Progress
          value={sent}
          title={sent < 100 ? 'Uploading' : 'Uploaded; converting'}
          size={ProgressSize.sm}
          measureLocation={ProgressMeasureLocation.outside}
          aria-label="Upload"
          data-testid="upload-progress"
        />
      )}
    </FormModal>
  );
}

/** Waits (up to a minute) for an upload DataVolume to accept its bytes. */
async function untilUploadReady(namespace: string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const dv = await api.get<DataVolume>(resourcePath(DATAVOLUMES, namespace, name));
    const phase = dv.status?.phase;
    if (phase === 'UploadReady') return;
    if (phase === 'Failed' || phase === 'Succeeded')
      throw new Error(`DataVolume "${name}" is ${phase}, not waiting for an upload`);
    if (Date.now() > deadline) throw new Error(`DataVolume "${name}" did not become UploadReady`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** PUTs the file with XMLHttpRequest, whose upload events give the progress fetch() does not. */
function uploadFile(path: string, file: File, progress: (percent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) progress(Math.round((e.loaded / e.total) * 1000) / 10);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(100);
        resolve();
        return;
      }
      let message = `upload failed: HTTP ${xhr.status}`;
      try {
        message = (JSON.parse(xhr.responseText) as { message?: string }).message ?? message;
      } catch {
        // not a Status
      }
      reject(new ApiStatusError(xhr.status, 'UploadFailed', message));
    };
    xhr.onerror = () => reject(new Error('the upload was interrupted'));
    xhr.send(file);
  });
}

/** A DataSource naming the DataVolume's claim: VMs and disks then clone it by that name. */
function PublishModal({ dataVolume, onClose }: { dataVolume: DataVolume; onClose: () => void }) {
  const [name, setName] = useState(nameOf(dataVolume));
  const submit = async () => {
    await api.create(resourcePath(DATASOURCES, namespaceOf(dataVolume)), dataSourceFor(dataVolume, name));
  };
  return (
    <FormModal
      id="publish"
      title={`Make "${nameOf(dataVolume)}" a golden image`}
      submitLabel="Create DataSource"
      onSubmit={submit}
      onClose={onClose}
    >
      <FormGroup label="DataSource name" isRequired fieldId="publish-name">
        <TextInput id="publish-name" isRequired value={name} onChange={(_e, v) => setName(v)} />
      </FormGroup>
    </FormModal>
  );
}

/**
 * The VM's disks: every volume with its device, what backs it and, for persistent disks, the
 * claim's size and the DataVolume's phase (import progress included), live. "Add disk" creates a
 * blank DataVolume and adds it to the stopped VM; "Resize" grows a claim.
 */
import {
  Button,
  Content,
  Flex,
  FlexItem,
  FormGroup,
  FormHelperText,
  HelperText,
  HelperTextItem,
  TextInput,
} from '@patternfly/react-core';
import { useState } from 'react';
import { api } from '../../api/client';
import { DATAVOLUMES, PVCS, resourcePath, VMS } from '../../api/resources';
import type { DataVolume, PersistentVolumeClaim, VirtualMachine } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { FormModal } from '../../components/FormModal';
import { ResourceTable, type Column } from '../../components/ResourceTable';
import { blankDataVolume, diskRows, whyNoNewDisk, withDataVolumeDisk, type DiskRow } from '../disks';
import { nameOf, namespaceOf, type VmView } from '../selectors';

const columns: Column<DiskRow>[] = [
  { id: 'name', title: 'Name', cell: (r) => r.name, sortValue: (r) => r.name },
  { id: 'device', title: 'Device', cell: (r) => r.device, visibleFrom: 'md' },
  { id: 'source', title: 'Source', cell: (r) => r.source },
  {
    id: 'ref',
    title: 'Image or claim',
    cell: (r) => <span className="hk-mono">{r.ref}</span>,
    visibleFrom: 'lg',
  },
  { id: 'size', title: 'Size', cell: (r) => r.size },
  { id: 'status', title: 'Status', cell: (r) => r.status },
];

export default function DisksTab({ view }: { view: VmView }) {
  const namespace = namespaceOf(view.vm);
  const claims = useWatchList<PersistentVolumeClaim>(PVCS, { namespace });
  const dataVolumes = useWatchList<DataVolume>(DATAVOLUMES, { namespace });
  const [adding, setAdding] = useState(false);
  const [resizing, setResizing] = useState<DiskRow | undefined>(undefined);
  const rows = diskRows(view.vm, claims.items, dataVolumes.items);
  const why = whyNoNewDisk(view);
  return (
    <>
      <Flex className="hk-gap-below" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <Button
            variant="secondary"
            onClick={() => setAdding(true)}
            isAriaDisabled={why !== undefined}
            aria-describedby={why !== undefined ? 'add-disk-why' : undefined}
          >
            Add disk
          </Button>
        </FlexItem>
        {why !== undefined && (
          <FlexItem>
            <Content component="small" id="add-disk-why">
              {why}
            </Content>
          </FlexItem>
        )}
      </Flex>
      <ResourceTable
        ariaLabel="Disks"
        rows={rows}
        rowKey={(r) => r.name}
        columns={columns}
        rowActions={(r) =>
          r.claim !== undefined ? (
            <Button variant="link" isInline onClick={() => setResizing(r)} aria-label={`Resize ${r.name}`}>
              Resize
            </Button>
          ) : null
        }
      />
      {adding && <AddDiskModal vm={view.vm} count={rows.length} onClose={() => setAdding(false)} />}
      {resizing?.claim !== undefined && (
        <ResizeModal row={resizing} claim={resizing.claim} onClose={() => setResizing(undefined)} />
      )}
    </>
  );
}

function AddDiskModal({ vm, count, onClose }: { vm: VirtualMachine; count: number; onClose: () => void }) {
  const [name, setName] = useState(`disk${count}`);
  const [size, setSize] = useState('1Gi');
  const namespace = namespaceOf(vm);
  const submit = async () => {
    const dvName = `${nameOf(vm)}-${name}`;
    await api.create(resourcePath(DATAVOLUMES, namespace), blankDataVolume(namespace, dvName, size));
    try {
      await api.replace(resourcePath(VMS, namespace, nameOf(vm)), withDataVolumeDisk(vm, name, dvName));
    } catch (err) {
      // Undo: no DataVolume left behind that no VM uses.
      await api.delete(resourcePath(DATAVOLUMES, namespace, dvName)).catch(() => undefined);
      throw err;
    }
  };
  return (
    <FormModal id="add-disk" title="Add a disk" submitLabel="Add" onSubmit={submit} onClose={onClose}>
      <FormGroup label="Disk name" isRequired fieldId="disk-name">
        <TextInput id="disk-name" isRequired value={name} onChange={(_e, v) => setName(v)} />
        <FormHelperText>
          <HelperText>
            <HelperTextItem>
              A blank DataVolume named {nameOf(vm)}-{name || '…'} is created and attached on the virtio bus.
            </HelperTextItem>
          </HelperText>
        </FormHelperText>
      </FormGroup>
      <FormGroup label="Size" isRequired fieldId="disk-size">
        <TextInput id="disk-size" isRequired value={size} onChange={(_e, v) => setSize(v)} />
      </FormGroup>
    </FormModal>
  );
}

function ResizeModal({
  row,
  claim,
  onClose,
}: {
  row: DiskRow;
  claim: PersistentVolumeClaim;
  onClose: () => void;
}) {
  const [size, setSize] = useState(row.size);
  const submit = () =>
    api.mergePatch<PersistentVolumeClaim>(resourcePath(PVCS, namespaceOf(claim), nameOf(claim)), {
      spec: { resources: { requests: { storage: size } } },
    });
  return (
    <FormModal
      id="resize-disk"
      title={`Resize disk ${row.name}`}
      submitLabel="Resize"
      onSubmit={async () => void (await submit())}
      onClose={onClose}
    >
      <FormGroup label="New size" isRequired fieldId="resize-size">
        <TextInput id="resize-size" isRequired value={size} onChange={(_e, v) => setSize(v)} />
        <FormHelperText>
          <HelperText>
            <HelperTextItem>A claim can only grow, never shrink.</HelperTextItem>
          </HelperText>
        </FormHelperText>
      </FormGroup>
    </FormModal>
  );
}

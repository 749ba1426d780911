/**
 * The VM's snapshots, live: phase, readiness, how each was taken (KubeVirt's indications: Online,
 * GuestAgent, NoGuestAgent…), when, and the size of the disks it holds; the restores of them.
 * "Take snapshot" creates a VirtualMachineSnapshot; a snapshot restores onto the VM (stopping it
 * first with targetReadinessPolicy StopTarget when it runs) or onto a new VM, or is deleted.
 */
import {
  Alert,
  Button,
  Checkbox,
  Content,
  EmptyState,
  EmptyStateBody,
  Flex,
  FlexItem,
  FormGroup,
  Label,
  LabelGroup,
  TextInput,
} from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api } from '../../api/client';
import { useApiGroup } from '../../api/discovery';
import { RESTORES, resourcePath, SNAPSHOT_CONTENTS, SNAPSHOT_GROUP, SNAPSHOTS } from '../../api/resources';
import type {
  VirtualMachine,
  VirtualMachineRestore,
  VirtualMachineSnapshot,
  VirtualMachineSnapshotContent,
} from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { useDelete } from '../../catalog/DeleteButton';
import { SectionTitle } from '../../catalog/CatalogPage';
import { FieldHelp, FormModal, useValidated } from '../../components/FormModal';
import { useNotices } from '../../components/Notices';
import { ResourceTable, type Column } from '../../components/ResourceTable';
import { RowMenu } from '../../components/RowMenu';
import { useNow } from '../../components/useNow';
import { stamp } from '../actions';
import { age, isActive, isTerminating, nameOf, namespaceOf, runStrategy, type VmView } from '../selectors';
import {
  buildRestore,
  buildSnapshot,
  restoreRows,
  snapshotRows,
  whyNoDelete,
  whyNoRestore,
  type RestoreRow,
  type SnapshotRow,
} from '../snapshots';

const When = ({ time, now }: { time: string | undefined; now: number }) =>
  time === undefined ? null : (
    <time dateTime={time} title={time}>
      {age(time, now)} ago
    </time>
  );

/** The first column is not sortable, so the rows keep their order (newest first) until asked. */
function snapshotColumns(now: number): Column<SnapshotRow>[] {
  return [
    { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.name}</span> },
    {
      id: 'phase',
      title: 'Phase',
      cell: (r) => (r.error !== undefined && r.phase === 'Failed' ? `Failed: ${r.error}` : r.phase),
    },
    { id: 'ready', title: 'Ready to use', cell: (r) => (r.ready ? 'Yes' : 'No') },
    {
      id: 'indications',
      title: 'Indications',
      cell: (r) =>
        r.indications.length === 0 ? (
          <span className="hk-subtle">{r.ready ? 'Offline' : ''}</span>
        ) : (
          <LabelGroup numLabels={5}>
            {r.indications.map((i) => (
              <Label key={i} isCompact>
                {i}
              </Label>
            ))}
          </LabelGroup>
        ),
      visibleFrom: 'md',
    },
    {
      id: 'created',
      title: 'Created',
      cell: (r) => <When time={r.created} now={now} />,
      sortValue: (r) => r.created ?? '',
    },
    { id: 'size', title: 'Size', cell: (r) => r.size, visibleFrom: 'md' },
    { id: 'disks', title: 'Disks', cell: (r) => r.volumes.join(', '), visibleFrom: 'lg' },
  ];
}

function restoreColumns(now: number): Column<RestoreRow>[] {
  return [
    { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.name}</span> },
    {
      id: 'snapshot',
      title: 'Snapshot',
      cell: (r) => <span className="hk-break">{r.snapshot}</span>,
      visibleFrom: 'md',
    },
    { id: 'target', title: 'Target VM', cell: (r) => r.target },
    { id: 'state', title: 'State', cell: (r) => r.state },
    { id: 'time', title: 'When', cell: (r) => <When time={r.time} now={now} />, visibleFrom: 'md' },
  ];
}

export default function SnapshotsTab({ view }: { view: VmView }) {
  const served = useApiGroup(SNAPSHOT_GROUP);
  const namespace = namespaceOf(view.vm);
  const enabled = served !== null && served !== undefined;
  const snapshots = useWatchList<VirtualMachineSnapshot>(SNAPSHOTS, { namespace, enabled });
  const contents = useWatchList<VirtualMachineSnapshotContent>(SNAPSHOT_CONTENTS, { namespace, enabled });
  const restores = useWatchList<VirtualMachineRestore>(RESTORES, { namespace, enabled });
  const now = useNow();
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const [taking, setTaking] = useState(false);
  const [restoring, setRestoring] = useState<{ row: SnapshotRow; toNew: boolean } | undefined>(undefined);
  const rows = useMemo(
    () => snapshotRows(view.vm, snapshots.items, contents.items),
    [view.vm, snapshots.items, contents.items],
  );
  const restoreList = useMemo(
    () => restoreRows(view.vm, restores.items, new Set(rows.map((r) => r.name))),
    [view.vm, restores.items, rows],
  );
  const snapCols = useMemo(() => snapshotColumns(now), [now]);
  const restoreCols = useMemo(() => restoreColumns(now), [now]);

  if (served === null)
    return (
      <EmptyState titleText="Snapshots are not available" headingLevel="h2">
        <EmptyStateBody>This server does not serve {SNAPSHOT_GROUP}.</EmptyStateBody>
      </EmptyState>
    );
  const whyNoTake = isTerminating(view.vm) ? 'The VM is being deleted' : undefined;
  return (
    <>
      {notices}
      <Flex className="hk-gap-below" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <Button
            variant="secondary"
            onClick={() => setTaking(true)}
            isAriaDisabled={whyNoTake !== undefined}
            aria-describedby="take-snapshot-why"
          >
            Take snapshot
          </Button>
        </FlexItem>
        <FlexItem>
          <Content component="small" id="take-snapshot-why">
            {whyNoTake ??
              (isActive(view.vmi)
                ? 'The VM runs: the snapshot is taken live (filesystems frozen when its guest agent is connected).'
                : 'The VM is stopped: the snapshot is taken offline.')}
          </Content>
        </FlexItem>
      </Flex>
      {snapshots.error !== undefined && (
        <Alert variant="warning" isInline title="The list could not be refreshed" className="hk-gap-below">
          {snapshots.error.message}
        </Alert>
      )}
      {rows.length === 0 ? (
        <Content component="p" className="hk-subtle">
          {snapshots.loaded ? 'No snapshot of this VM yet.' : 'Loading snapshots…'}
        </Content>
      ) : (
        <ResourceTable
          ariaLabel="Snapshots"
          rows={rows}
          rowKey={(r) => r.name}
          columns={snapCols}
          rowActions={(r) => (
            <RowMenu
              label={`Actions for snapshot "${r.name}"`}
              items={[
                {
                  id: 'restore',
                  label: 'Restore to this VM',
                  onClick: () => setRestoring({ row: r, toNew: false }),
                  why: whyNoRestore(r),
                },
                {
                  id: 'restore-new',
                  label: 'Restore to a new VM',
                  onClick: () => setRestoring({ row: r, toNew: true }),
                  why: whyNoRestore(r),
                },
                {
                  id: 'delete',
                  label: 'Delete',
                  danger: true,
                  why: whyNoDelete(r),
                  onClick: () =>
                    remove.ask(resourcePath(SNAPSHOTS, namespace, r.name), `snapshot "${r.name}"`),
                },
              ]}
            />
          )}
        />
      )}
      {restoreList.length > 0 && (
        <>
          <SectionTitle>Restores</SectionTitle>
          <ResourceTable
            ariaLabel="Restores"
            rows={restoreList}
            rowKey={(r) => r.name}
            columns={restoreCols}
          />
        </>
      )}
      {remove.modal}
      {taking && <TakeSnapshotModal vm={view.vm} onClose={() => setTaking(false)} />}
      {restoring !== undefined &&
        (restoring.toNew ? (
          <RestoreToNewModal row={restoring.row} vm={view.vm} onClose={() => setRestoring(undefined)} />
        ) : (
          <RestoreModal row={restoring.row} view={view} onClose={() => setRestoring(undefined)} />
        ))}
    </>
  );
}

function TakeSnapshotModal({ vm, onClose }: { vm: VirtualMachine; onClose: () => void }) {
  const [name, setName] = useState('');
  const fallback = useMemo(() => `${nameOf(vm)}-snapshot-${stamp()}`, [vm]);
  const submit = async () => {
    const snapshot = buildSnapshot(vm, name.trim() === '' ? fallback : name.trim());
    await api.create(resourcePath(SNAPSHOTS, namespaceOf(vm)), snapshot);
  };
  return (
    <FormModal
      id="take-snapshot"
      title={`Take a snapshot of ${nameOf(vm)}`}
      submitLabel="Take snapshot"
      onSubmit={submit}
      onClose={onClose}
      fields={['metadata.name']}
    >
      <NameField
        id="snapshot-name"
        label="Snapshot name"
        value={name}
        onChange={setName}
        placeholder={fallback}
      >
        Optional: {fallback} when left empty.
      </NameField>
    </FormModal>
  );
}

function NameField({
  id,
  label,
  value,
  onChange,
  placeholder,
  paths = ['metadata.name'],
  isRequired = false,
  children,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  placeholder?: string;
  paths?: readonly string[];
  isRequired?: boolean;
  children: React.ReactNode;
}) {
  const validated = useValidated(paths);
  return (
    <FormGroup label={label} fieldId={id} isRequired={isRequired}>
      <TextInput
        id={id}
        value={value}
        isRequired={isRequired}
        onChange={(_e, v) => onChange(v)}
        validated={validated}
        aria-describedby={`${id}-help`}
        {...(placeholder !== undefined ? { placeholder } : {})}
      />
      <FieldHelp id={id} paths={paths}>
        {children}
      </FieldHelp>
    </FormGroup>
  );
}

/** Restore onto the VM itself: it must be stopped; StopTarget lets the restore stop it. */
function RestoreModal({ row, view, onClose }: { row: SnapshotRow; view: VmView; onClose: () => void }) {
  const strategy = runStrategy(view.vm);
  const running = isActive(view.vmi) || strategy === 'Always' || strategy === 'RerunOnFailure';
  const [stop, setStop] = useState(true);
  const submit = async () => {
    const restore = buildRestore(
      row.snapshot,
      nameOf(view.vm),
      `${nameOf(view.vm)}-restore-${stamp()}`,
      running && stop ? 'StopTarget' : undefined,
    );
    await api.create(resourcePath(RESTORES, namespaceOf(view.vm)), restore);
  };
  return (
    <FormModal
      id="restore"
      title={`Restore ${nameOf(view.vm)} from ${row.name}`}
      submitLabel="Restore"
      onSubmit={submit}
      onClose={onClose}
      fields={['spec.virtualMachineSnapshotName', 'spec.target']}
    >
      <Content component="p">
        The VM&apos;s spec and disks go back to what they were when the snapshot was taken; what was written
        since is lost.
      </Content>
      {running ? (
        <>
          <Alert variant="warning" isInline title="The VM is running">
            A restore needs the VM stopped.
          </Alert>
          <Checkbox
            id="restore-stop"
            label="Stop the VM for the restore (targetReadinessPolicy: StopTarget)"
            description={
              stop
                ? 'The VM is stopped, restored, and stays stopped: start it again afterwards.'
                : 'The restore waits up to 5 minutes for you to stop the VM (WaitGracePeriod), then fails.'
            }
            isChecked={stop}
            onChange={(_e, v) => setStop(v)}
          />
        </>
      ) : (
        <Content component="p">The VM is stopped: it is restored at once and stays stopped.</Content>
      )}
      <FieldHelp id="restore-snapshot" paths={['spec.virtualMachineSnapshotName', 'spec.target']} />
    </FormModal>
  );
}

function RestoreToNewModal({
  row,
  vm,
  onClose,
}: {
  row: SnapshotRow;
  vm: VirtualMachine;
  onClose: () => void;
}) {
  const [target, setTarget] = useState(`${nameOf(vm)}-restored`);
  const submit = async () => {
    const name = target.trim();
    await api.create(
      resourcePath(RESTORES, namespaceOf(vm)),
      buildRestore(row.snapshot, name, `${name}-restore-${stamp()}`),
    );
  };
  return (
    <FormModal
      id="restore-new"
      title={`Restore ${row.name} to a new VM`}
      submitLabel="Restore"
      onSubmit={submit}
      onClose={onClose}
      fields={['spec.target', 'spec.virtualMachineSnapshotName', 'metadata.name']}
    >
      <NameField
        id="restore-target"
        label="New VM name"
        value={target}
        onChange={setTarget}
        paths={['spec.target', 'metadata.name']}
        isRequired
      >
        A new VM in {namespaceOf(vm)} with the snapshot&apos;s spec and its own copies of the disks;{' '}
        {nameOf(vm)} is left alone.
      </NameField>
      <FieldHelp id="restore-new-snapshot" paths={['spec.virtualMachineSnapshotName']} />
    </FormModal>
  );
}

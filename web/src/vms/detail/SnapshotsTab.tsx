/**
 * The VM's snapshots, live: phase, readiness, how each was taken (KubeVirt's indications: Online,
 * GuestAgent, NoGuestAgent…), when, and the size of the disks it holds; the restores of them.
 * "Take snapshot" creates a VirtualMachineSnapshot; a snapshot restores onto the VM (stopping it
 * first with targetReadinessPolicy StopTarget when it runs) or onto a new VM, or is deleted.
 */
import { Content, Label, LabelGroup } from '@patternfly/react-core';
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
import { FieldHelp, FormModal } from '../../components/FormModal';
import { useNotices } from '../../components/Notices';
import { type Column } from '../../components/ResourceTable';
import { TextField } from '../../components/TextField';
import { Ago } from '../../components/Time';
import { useNow } from '../../components/useNow';
import { stamp } from '../actions';
import { isActive, isTerminating, nameOf, namespaceOf, runStrategy, type VmView } from '../selectors';
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
import { NotServed, PointsTable, RestoresSection, StopChoice, TakeBar } from './points';

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
      cell: (r) => <Ago time={r.created} now={now} />,
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
    { id: 'time', title: 'When', cell: (r) => <Ago time={r.time} now={now} />, visibleFrom: 'md' },
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

  if (served === null) return <NotServed what="Snapshots" group={SNAPSHOT_GROUP} />;
  const whyNoTake = isTerminating(view.vm) ? 'The VM is being deleted' : undefined;
  return (
    <>
      {notices}
      <TakeBar
        id="take-snapshot"
        label="Take snapshot"
        onClick={() => setTaking(true)}
        why={whyNoTake}
        note={
          isActive(view.vmi)
            ? 'The VM runs: the snapshot is taken live (filesystems frozen when its guest agent is connected).'
            : 'The VM is stopped: the snapshot is taken offline.'
        }
      />
      <PointsTable
        noun="snapshot"
        rows={rows}
        loaded={snapshots.loaded}
        error={snapshots.error}
        columns={snapCols}
        actions={{
          whyNoRestore,
          whyNoDelete,
          restore: (row, toNew) => setRestoring({ row, toNew }),
          remove: (r) => remove.ask(resourcePath(SNAPSHOTS, namespace, r.name), `snapshot "${r.name}"`),
        }}
      />
      <RestoresSection rows={restoreList} columns={restoreCols} />
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
      <TextField
        id="snapshot-name"
        label="Snapshot name"
        value={name}
        onChange={setName}
        paths={['metadata.name']}
        placeholder={fallback}
      >
        Optional: {fallback} when left empty.
      </TextField>
    </FormModal>
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
        <StopChoice
          id="restore-stop"
          label="Stop the VM for the restore (targetReadinessPolicy: StopTarget)"
          description={
            stop
              ? 'The VM is stopped, restored, and stays stopped: start it again afterwards.'
              : 'The restore waits up to 5 minutes for you to stop the VM (WaitGracePeriod), then fails.'
          }
          stop={stop}
          onChange={setStop}
        >
          A restore needs the VM stopped.
        </StopChoice>
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
      <TextField
        id="restore-target"
        label="New VM name"
        value={target}
        onChange={setTarget}
        paths={['spec.target', 'metadata.name']}
        isRequired
      >
        A new VM in {namespaceOf(vm)} with the snapshot&apos;s spec and its own copies of the disks;{' '}
        {nameOf(vm)} is left alone.
      </TextField>
      <FieldHelp id="restore-new-snapshot" paths={['spec.virtualMachineSnapshotName']} />
    </FormModal>
  );
}

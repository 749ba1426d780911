/**
 * The VM's backups (Cozystack's backups.cozystack.io), live: "Back up now" creates a BackupJob on
 * the BackupClass picked (`default` preselected); the list shows each Backup's phase, the bytes it
 * sent and its age, newest first, with the runs that made none yet (under way with what they do,
 * or failed with the reason). A Ready backup restores onto this application (stopping it first
 * when it runs, if asked) or into a new one, named and checked first; restores are listed with
 * their phase and progress. Every button is disabled with the reason when RBAC forbids it.
 */
import { Content } from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api, ApiStatusError } from '../../api/client';
import { useApiGroup } from '../../api/discovery';
import {
  BACKUP_JOBS,
  BACKUPS,
  BACKUPS_GROUP,
  RESTORE_JOBS,
  VMINSTANCES,
  VMS,
  resourcePath,
} from '../../api/resources';
import type { Backup, BackupJob, KubeObject, RestoreJob } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { useDelete } from '../../catalog/DeleteButton';
import { useMay, whyNot } from '../../catalog/gate';
import { FormModal } from '../../components/FormModal';
import { useNotices } from '../../components/Notices';
import { type Column } from '../../components/ResourceTable';
import { TextField } from '../../components/TextField';
import { Ago } from '../../components/Time';
import { useNow } from '../../components/useNow';
import { stamp } from '../actions';
import { BackupClassSelect, useClassChoice } from '../BackupClassSelect';
import {
  applicationOf,
  backupRows,
  buildBackupJob,
  buildRestoreJob,
  pickedClass,
  restoreRows,
  restoreTargetCauses,
  sentText,
  whyNoDelete,
  whyNoRestore,
  type BackupRow,
  type RestoreRow,
} from '../backups';
import { isActive, isTerminating, nameOf, namespaceOf, type VmView } from '../selectors';
import { NotServed, PointsTable, RestoresSection, StopChoice, TakeBar } from './points';

function columns(now: number): Column<BackupRow>[] {
  return [
    { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.name}</span> },
    { id: 'phase', title: 'Phase', cell: (r) => r.phase },
    { id: 'size', title: 'Sent', cell: (r) => sentText(r.sizeBytes) },
    { id: 'taken', title: 'Taken', cell: (r) => <Ago time={r.takenAt} now={now} /> },
    { id: 'detail', title: 'Details', cell: (r) => <span className="hk-break">{r.detail}</span> },
  ];
}

function restoreColumns(now: number): Column<RestoreRow>[] {
  return [
    { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.name}</span> },
    { id: 'backup', title: 'Backup', cell: (r) => r.backup, visibleFrom: 'md' },
    { id: 'target', title: 'Target', cell: (r) => r.target },
    { id: 'state', title: 'State', cell: (r) => r.state },
    {
      id: 'progress',
      title: 'Progress',
      cell: (r) =>
        r.percent === undefined ? null : (
          <span>
            <progress value={r.percent} max={100} aria-label={`Restore ${r.name}`} /> {r.percent}%
          </span>
        ),
    },
    { id: 'time', title: 'Started', cell: (r) => <Ago time={r.time} now={now} />, visibleFrom: 'md' },
  ];
}

export default function BackupsTab({ view }: { view: VmView }) {
  const served = useApiGroup(BACKUPS_GROUP);
  const namespace = namespaceOf(view.vm);
  const enabled = served !== null && served !== undefined;
  const backups = useWatchList<Backup>(BACKUPS, { namespace, enabled });
  const jobs = useWatchList<BackupJob>(BACKUP_JOBS, { namespace, enabled });
  const restores = useWatchList<RestoreJob>(RESTORE_JOBS, { namespace, enabled });
  const now = useNow();
  const { notices, report } = useNotices();
  const remove = useDelete(report);
  const may = useMay();
  const [restoring, setRestoring] = useState<{ backup: Backup; toNew: boolean } | undefined>(undefined);
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const app = useMemo(() => applicationOf(view.vm), [view.vm]);
  const choice = useClassChoice(app, enabled);
  const rows = useMemo(() => backupRows(backups.items, jobs.items, app), [backups.items, jobs.items, app]);
  const restoreList = useMemo(
    () => restoreRows(restores.items, new Set(backups.items.map(nameOf)), app),
    [restores.items, backups.items, app],
  );
  const cols = useMemo(() => columns(now), [now]);
  const restoreCols = useMemo(() => restoreColumns(now), [now]);

  if (served === null) return <NotServed what="Backups" group={BACKUPS_GROUP} />;
  const backupClass = pickedClass(choice, picked);
  const why = isTerminating(view.vm)
    ? 'The VM is being deleted'
    : (whyNot(may('create', BACKUP_JOBS, namespace)) ?? choice.why);
  const backUp = async (): Promise<void> => {
    if (backupClass === undefined) return;
    try {
      await api.create(
        resourcePath(BACKUP_JOBS, namespace),
        buildBackupJob(view.vm, `${app.name}-${stamp()}`, backupClass),
      );
    } catch (err) {
      report(err instanceof Error ? err.message : String(err));
    }
  };
  const whyNoRestoreNow = (r: BackupRow) => whyNoRestore(r) ?? whyNot(may('create', RESTORE_JOBS, namespace));
  return (
    <>
      {notices}
      <TakeBar
        id="back-up"
        label="Back up now"
        onClick={() => void backUp()}
        why={why}
        note={`${app.kind} ${app.name}, class ${backupClass ?? ''}: the first backup is full, later ones send only changed blocks.`}
        picker={
          <BackupClassSelect
            id="backup-class"
            choice={choice}
            value={backupClass}
            onChange={setPicked}
            describedBy="back-up-why"
          />
        }
      />
      <PointsTable
        noun="backup"
        rows={rows}
        loaded={backups.loaded}
        error={backups.error ?? jobs.error}
        columns={cols}
        actions={{
          whyNoRestore: whyNoRestoreNow,
          whyNoDelete: (r) =>
            whyNoDelete(r) ??
            whyNot(may('delete', r.backup !== undefined ? BACKUPS : BACKUP_JOBS, namespace)),
          restore: (r, toNew) => {
            if (r.backup !== undefined) setRestoring({ backup: r.backup, toNew });
          },
          remove: (r) =>
            r.backup !== undefined
              ? remove.ask(resourcePath(BACKUPS, namespace, r.name), `backup "${r.name}" and its artifact`)
              : remove.ask(resourcePath(BACKUP_JOBS, namespace, r.name), `failed backup run "${r.name}"`),
        }}
      />
      <RestoresSection rows={restoreList} columns={restoreCols} />
      {remove.modal}
      {restoring !== undefined && (
        <RestoreModal
          backup={restoring.backup}
          toNew={restoring.toNew}
          view={view}
          onClose={() => setRestoring(undefined)}
        />
      )}
    </>
  );
}

function RestoreModal({
  backup,
  toNew,
  view,
  onClose,
}: {
  backup: Backup;
  toNew: boolean;
  view: VmView;
  onClose: () => void;
}) {
  const app = applicationOf(view.vm);
  const namespace = namespaceOf(view.vm);
  const running = isActive(view.vmi);
  const existing = useWatchList<KubeObject>(app.kind === 'VMInstance' ? VMINSTANCES : VMS, {
    namespace,
    enabled: toNew,
  });
  const [target, setTarget] = useState(`${app.name}-restored`);
  const [stop, setStop] = useState(true);
  const submit = async () => {
    const name = target.trim();
    if (toNew) {
      const causes = restoreTargetCauses(name, app.kind, new Set(existing.items.map(nameOf)));
      if (causes.length > 0)
        throw new ApiStatusError(422, 'Invalid', `The new ${app.kind} name is invalid`, causes);
    }
    await api.create(
      resourcePath(RESTORE_JOBS, namespace),
      buildRestoreJob(
        backup,
        `${toNew ? name : app.name}-restore-${stamp()}`,
        toNew ? name : undefined,
        !toNew && running && stop,
      ),
    );
  };
  const title = toNew
    ? `Restore ${nameOf(backup)} to a new ${app.kind}`
    : `Restore ${app.name} from ${nameOf(backup)}`;
  return (
    <FormModal
      id={toNew ? 'backup-restore-new' : 'backup-restore'}
      title={title}
      submitLabel="Restore"
      onSubmit={submit}
      onClose={onClose}
      fields={['spec.targetApplicationRef', 'spec.backupRef', 'metadata.name']}
    >
      {toNew ? (
        <TextField
          id="backup-restore-target"
          label={`New ${app.kind} name`}
          value={target}
          onChange={setTarget}
          paths={['spec.targetApplicationRef', 'metadata.name']}
          isRequired
        >
          A new {app.kind} with the backup&apos;s spec and its own disks; {app.name} is left alone.
        </TextField>
      ) : running ? (
        <StopChoice
          id="backup-restore-stop"
          label="Stop the VM for the restore, start it again after"
          stop={stop}
          onChange={setStop}
        >
          A restore in place needs it stopped; without this it is refused.
        </StopChoice>
      ) : (
        <Content component="p">
          The disks and spec go back to the backup&apos;s; what was written since is lost.
        </Content>
      )}
    </FormModal>
  );
}

/**
 * The VM's backups (Cozystack's backups.cozystack.io), live: "Back up now" creates a BackupJob
 * on the default BackupClass; the list shows each Backup's phase, the bytes it sent and its age,
 * newest first, with the runs under way and the reason of the last failed one. A Ready backup
 * restores onto this application (stopping it first when it runs, if asked) or into a new one;
 * deleting a Backup deletes its artifact too. Restores in progress are listed with their message.
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
  TextInput,
} from '@patternfly/react-core';
import { useMemo, useState } from 'react';
import { api } from '../../api/client';
import { useApiGroup } from '../../api/discovery';
import { BACKUP_JOBS, BACKUPS, BACKUPS_GROUP, RESTORE_JOBS, resourcePath } from '../../api/resources';
import type { Backup, BackupJob, RestoreJob } from '../../api/types';
import { useWatchList } from '../../api/useWatch';
import { useDelete } from '../../catalog/DeleteButton';
import { SectionTitle } from '../../catalog/CatalogPage';
import { FieldHelp, FormModal } from '../../components/FormModal';
import { useNotices } from '../../components/Notices';
import { ResourceTable, type Column } from '../../components/ResourceTable';
import { RowMenu } from '../../components/RowMenu';
import { useNow } from '../../components/useNow';
import { stamp } from '../actions';
import {
  applicationOf,
  backupRows,
  buildBackupJob,
  buildRestoreJob,
  jobsOf,
  sentText,
  whyNoRestore,
  type BackupRow,
} from '../backups';
import { age, isActive, isTerminating, namespaceOf, type VmView } from '../selectors';

function columns(now: number): Column<BackupRow>[] {
  return [
    { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.name}</span> },
    { id: 'phase', title: 'Phase', cell: (r) => r.phase },
    { id: 'size', title: 'Sent', cell: (r) => sentText(r.sizeBytes) },
    {
      id: 'taken',
      title: 'Taken',
      cell: (r) => (
        <time dateTime={r.takenAt} title={r.takenAt}>
          {age(r.takenAt, now)} ago
        </time>
      ),
    },
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
  const [restoring, setRestoring] = useState<{ row: BackupRow; toNew: boolean } | undefined>(undefined);
  const app = useMemo(() => applicationOf(view.vm), [view.vm]);
  const rows = useMemo(() => backupRows(backups.items, app), [backups.items, app]);
  const { running, lastFailed } = useMemo(() => jobsOf(jobs.items, app), [jobs.items, app]);
  const names = new Set(rows.map((r) => r.name));
  const restoreList = restores.items.filter((r) => names.has(r.spec.backupRef.name));
  const cols = useMemo(() => columns(now), [now]);

  if (served === null)
    return (
      <EmptyState titleText="Backups are not available" headingLevel="h2">
        <EmptyStateBody>This server does not serve {BACKUPS_GROUP}.</EmptyStateBody>
      </EmptyState>
    );
  const why = isTerminating(view.vm) ? 'The VM is being deleted' : undefined;
  const backUp = async (): Promise<void> => {
    try {
      await api.create(
        resourcePath(BACKUP_JOBS, namespace),
        buildBackupJob(view.vm, `${app.name}-${stamp()}`, 'default'),
      );
    } catch (err) {
      report(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <>
      {notices}
      <Flex className="hk-gap-below" alignItems={{ default: 'alignItemsCenter' }}>
        <FlexItem>
          <Button variant="secondary" onClick={() => void backUp()} isAriaDisabled={why !== undefined}>
            Back up now
          </Button>
        </FlexItem>
        <FlexItem>
          <Content component="small">
            {why ??
              `${app.kind} ${app.name}, class default: the first backup is full, later ones send only changed blocks.`}
          </Content>
        </FlexItem>
      </Flex>
      {running.map((j) => (
        <Alert
          key={j.metadata.name}
          variant="info"
          isInline
          title={`Backup ${j.metadata.name ?? ''} ${j.status?.phase ?? 'Pending'}`}
          className="hk-gap-below"
        >
          {j.status?.message ?? 'waiting to start'}
        </Alert>
      ))}
      {lastFailed !== undefined && (
        <Alert
          variant="danger"
          isInline
          title={`Backup ${lastFailed.metadata.name ?? ''} failed`}
          className="hk-gap-below"
        >
          {lastFailed.status?.message}
        </Alert>
      )}
      {rows.length === 0 ? (
        <Content component="p" className="hk-subtle">
          {backups.loaded ? 'No backup of this VM yet.' : 'Loading backups…'}
        </Content>
      ) : (
        <ResourceTable
          ariaLabel="Backups"
          rows={rows}
          rowKey={(r) => r.name}
          columns={cols}
          rowActions={(r) => (
            <RowMenu
              label={`Actions for backup "${r.name}"`}
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
                  why: r.phase === 'Deleting' ? 'The backup is being deleted' : undefined,
                  onClick: () =>
                    remove.ask(
                      resourcePath(BACKUPS, namespace, r.name),
                      `backup "${r.name}" and its artifact`,
                    ),
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
            rowKey={(r) => r.metadata.name ?? ''}
            columns={[
              { id: 'name', title: 'Name', cell: (r) => <span className="hk-break">{r.metadata.name}</span> },
              { id: 'backup', title: 'Backup', cell: (r) => r.spec.backupRef.name },
              { id: 'target', title: 'Target', cell: (r) => r.spec.targetApplicationRef?.name ?? app.name },
              {
                id: 'state',
                title: 'State',
                cell: (r) =>
                  `${r.status?.phase ?? 'Pending'}${r.status?.message ? `: ${r.status.message}` : ''}`,
              },
            ]}
          />
        </>
      )}
      {remove.modal}
      {restoring !== undefined && (
        <RestoreModal
          row={restoring.row}
          toNew={restoring.toNew}
          view={view}
          onClose={() => setRestoring(undefined)}
        />
      )}
    </>
  );
}

function RestoreModal({
  row,
  toNew,
  view,
  onClose,
}: {
  row: BackupRow;
  toNew: boolean;
  view: VmView;
  onClose: () => void;
}) {
  const app = applicationOf(view.vm);
  const running = isActive(view.vmi);
  const [target, setTarget] = useState(`${app.name}-restored`);
  const [stop, setStop] = useState(true);
  const submit = async () => {
    const name = `${toNew ? target.trim() : app.name}-restore-${stamp()}`;
    await api.create(
      resourcePath(RESTORE_JOBS, namespaceOf(view.vm)),
      buildRestoreJob(row, name, toNew ? target.trim() : undefined, !toNew && running && stop),
    );
  };
  return (
    <FormModal
      id={toNew ? 'backup-restore-new' : 'backup-restore'}
      title={toNew ? `Restore ${row.name} to a new ${app.kind}` : `Restore ${app.name} from ${row.name}`}
      submitLabel="Restore"
      onSubmit={submit}
      onClose={onClose}
      fields={['spec.targetApplicationRef', 'spec.backupRef', 'metadata.name']}
    >
      {toNew ? (
        <FormGroup label={`New ${app.kind} name`} fieldId="backup-restore-target" isRequired>
          <TextInput
            id="backup-restore-target"
            value={target}
            isRequired
            onChange={(_e, v) => setTarget(v)}
          />
          <FieldHelp id="backup-restore-target" paths={['spec.targetApplicationRef', 'metadata.name']}>
            A new {app.kind} with the backup&apos;s spec and its own disks; {app.name} is left alone.
          </FieldHelp>
        </FormGroup>
      ) : running ? (
        <>
          <Alert variant="warning" isInline title="The VM is running">
            A restore in place needs it stopped; without this it is refused.
          </Alert>
          <Checkbox
            id="backup-restore-stop"
            label="Stop the VM for the restore, start it again after"
            isChecked={stop}
            onChange={(_e, v) => setStop(v)}
          />
        </>
      ) : (
        <Content component="p">
          The disks and spec go back to the backup&apos;s; what was written since is lost.
        </Content>
      )}
    </FormModal>
  );
}

/**
 * A moment as the lists write it: "5m ago" or "in 2h", the full time in its tooltip. Tables of
 * snapshots, backups, restores, schedules and plans share it, ticking with `useNow`.
 */
import { age, until } from '../vms/selectors';

export const Ago = ({ time, now }: { time: string | undefined; now: number }) =>
  time === undefined ? null : (
    <time dateTime={time} title={time}>
      {`${age(time, now)} ago`}
    </time>
  );

export const Until = ({ time, now }: { time: string | undefined; now: number }) =>
  time === undefined ? null : (
    <time dateTime={time} title={time}>
      {`in ${until(time, now)}`}
    </time>
  );

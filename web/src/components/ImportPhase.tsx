/**
 * The phase of an import (a DataVolume, or a VMDisk that reports its DataVolume's): a progress bar
 * with CDI's percentage while bytes arrive, the phase alone once it is final or has no percentage.
 */
import { Progress, ProgressMeasureLocation, ProgressSize } from '@patternfly/react-core';
import { percentOf } from '../catalog/images';

export function ImportPhase({
  name,
  phase,
  progress,
}: {
  name: string;
  phase: string | undefined;
  progress: string | undefined;
}) {
  const shown = phase ?? 'Pending';
  const value = percentOf(progress);
  if (shown === 'Succeeded' || shown === 'Failed' || value === undefined) return <>{shown}</>;
  return (
    <Progress
      value={value}
      title={shown}
      size={ProgressSize.sm}
      measureLocation={ProgressMeasureLocation.outside}
      label={progress}
      aria-label={`Import of ${name}`}
    />
  );
}

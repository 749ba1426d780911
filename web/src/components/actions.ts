/**
 * Actions as descriptors: a label, whether it may run on a target now (or why not), and how to run
 * it. Menus, toolbars and bulk actions render the same descriptors, so a disabled item always says why.
 */
export interface Action<T> {
  id: string;
  label: string;
  /** true when the action may run on this target, else the reason it may not. */
  enabled(target: T): true | string;
  /** Destructive actions ask first. */
  confirm?: { title: string; verb: string };
  danger?: boolean;
  run(target: T): Promise<void>;
}

export const whyNot = <T>(action: Action<T>, target: T): string | undefined => {
  const e = action.enabled(target);
  return e === true ? undefined : e;
};

/** Runs `action` on every target where it is enabled; collects each failure with its target. */
export async function runOnAll<T>(
  action: Action<T>,
  targets: readonly T[],
  describe: (t: T) => string,
): Promise<string[]> {
  const results = await Promise.allSettled(
    targets.filter((t) => action.enabled(t) === true).map((t) => action.run(t)),
  );
  const eligible = targets.filter((t) => action.enabled(t) === true);
  return results.flatMap((r, i) =>
    r.status === 'rejected'
      ? [
          `${action.label} ${describe(eligible[i] as T)}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`,
        ]
      : [],
  );
}

/** `action`, disabled with `check`'s reason first (e.g. RBAC does not allow it), else as it was. */
export const gate = <T>(action: Action<T>, check: (target: T) => true | string): Action<T> => ({
  ...action,
  enabled: (target) => {
    const allowed = check(target);
    return allowed === true ? action.enabled(target) : allowed;
  },
});

/**
 * A row's actions behind a kebab: compact at every width. Each item may be disabled with the
 * reason shown under its label, as the VM actions are.
 */
import { Dropdown, DropdownItem, DropdownList, MenuToggle } from '@patternfly/react-core';
import { EllipsisVIcon } from '@patternfly/react-icons/dist/esm/icons/ellipsis-v-icon';
import { useState } from 'react';

export interface RowMenuItem {
  id: string;
  label: string;
  onClick: () => void;
  danger?: boolean;
  /** Why it may not run now. */
  why?: string | undefined;
}

export function RowMenu({ label, items }: { label: string; items: readonly RowMenuItem[] }) {
  const [open, setOpen] = useState(false);
  return (
    <Dropdown
      isOpen={open}
      onOpenChange={setOpen}
      popperProps={{ position: 'right' }}
      toggle={(ref) => (
        <MenuToggle
          ref={ref}
          variant="plain"
          aria-label={label}
          onClick={() => setOpen(!open)}
          isExpanded={open}
          icon={<EllipsisVIcon />}
        />
      )}
    >
      <DropdownList>
        {items.map((item) => (
          <DropdownItem
            key={item.id}
            data-testid={`row-action-${item.id}`}
            isAriaDisabled={item.why !== undefined}
            isDanger={item.danger === true && item.why === undefined}
            {...(item.why !== undefined ? { description: item.why } : {})}
            onClick={() => {
              setOpen(false);
              if (item.why === undefined) item.onClick();
            }}
          >
            {item.label}
          </DropdownItem>
        ))}
      </DropdownList>
    </Dropdown>
  );
}

/**
 * What the serial console and VNC tabs share: the empty state of a VM that is not running, the
 * connection state with its label, and the toolbar that shows it with a Reconnect button once the
 * stream has closed. Each tab keeps only what its client (xterm.js, noVNC) needs.
 */
import {
  Button,
  EmptyState,
  EmptyStateBody,
  Label,
  Toolbar,
  ToolbarContent,
  ToolbarItem,
} from '@patternfly/react-core';
import type { ReactNode } from 'react';

export type StreamState = { kind: 'connecting' } | { kind: 'connected' } | { kind: 'closed'; reason: string };

/** Why a stream closed, in words, from its close reason (or the lack of one). */
export const closedReason = (reason: string, clean: boolean): string =>
  reason !== '' ? reason : clean ? 'the guest went away' : 'the connection was refused or lost';

export function NotRunning({ children }: { children: ReactNode }) {
  return (
    <EmptyState titleText="The VM is not running" headingLevel="h2" variant="sm">
      <EmptyStateBody>{children}</EmptyStateBody>
    </EmptyState>
  );
}

/** The state label (testid `TESTID`), the tab's own items, and Reconnect once closed. */
export function StreamToolbar({
  testid,
  state,
  onReconnect,
  children,
}: {
  testid: string;
  state: StreamState;
  onReconnect: () => void;
  children?: ReactNode;
}) {
  return (
    <Toolbar>
      <ToolbarContent>
        <ToolbarItem>
          {state.kind === 'connected' ? (
            <Label color="green" status="success" data-testid={testid}>
              Connected
            </Label>
          ) : state.kind === 'connecting' ? (
            <Label color="blue" data-testid={testid}>
              Connecting…
            </Label>
          ) : (
            <Label color="grey" data-testid={testid}>
              Disconnected: {state.reason}
            </Label>
          )}
        </ToolbarItem>
        {children}
        {state.kind === 'closed' && (
          <ToolbarItem>
            <Button variant="secondary" onClick={onReconnect}>
              Reconnect
            </Button>
          </ToolbarItem>
        )}
      </ToolbarContent>
    </Toolbar>
  );
}

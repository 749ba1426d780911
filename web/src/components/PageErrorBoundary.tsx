/**
 * What a page shows when it throws while rendering or its code cannot be loaded (after lazyRetry's
 * attempts): the error and a way out, instead of an empty screen.
 */
import { Button, EmptyState, EmptyStateBody, EmptyStateFooter } from '@patternfly/react-core';
import { Component, type ReactNode } from 'react';

export class PageErrorBoundary extends Component<
  { children: ReactNode; resetKey: string },
  { error?: Error | undefined }
> {
  override state: { error?: Error | undefined } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidUpdate(prev: { resetKey: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error !== undefined)
      this.setState({ error: undefined });
  }

  override render() {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return (
      <EmptyState titleText="This page could not be shown" headingLevel="h1" status="danger">
        <EmptyStateBody>{error.message}</EmptyStateBody>
        <EmptyStateFooter>
          <Button variant="primary" onClick={() => location.reload()}>
            Reload
          </Button>
        </EmptyStateFooter>
      </EmptyState>
    );
  }
}

/** An anchor to a console route: a real href (new tab, copy link) with client-side navigation. */
import type { ReactNode } from 'react';
import { hrefOf, linkClick, type Route } from '../app/router';

export function Link({ to, children, ...rest }: { to: Route; children: ReactNode; 'data-testid'?: string }) {
  return (
    <a href={hrefOf(to)} onClick={linkClick(to)} {...rest}>
      {children}
    </a>
  );
}

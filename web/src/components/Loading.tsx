/** What a page shows while its first list or its lazy chunk loads. */
import { Bullseye, Spinner } from '@patternfly/react-core';

export const Loading = () => (
  <Bullseye>
    <Spinner aria-label="Loading" />
  </Bullseye>
);

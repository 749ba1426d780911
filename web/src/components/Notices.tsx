/** Toast alerts for failures of actions started from a page (a bulk stop, a delete…). */
import { Alert, AlertActionCloseButton, AlertGroup } from '@patternfly/react-core';
import { useCallback, useState } from 'react';

export function useNotices(): { notices: React.ReactNode; report: (message: string) => void } {
  const [messages, setMessages] = useState<{ id: number; text: string }[]>([]);
  const report = useCallback(
    (text: string) => setMessages((m) => [...m, { id: Date.now() + Math.random(), text }]),
    [],
  );
  const notices = (
    <AlertGroup isToast isLiveRegion>
      {messages.map((m) => (
        <Alert
          key={m.id}
          variant="danger"
          title={m.text}
          timeout={12_000}
          onTimeout={() => setMessages((all) => all.filter((x) => x.id !== m.id))}
          actionClose={
            <AlertActionCloseButton onClose={() => setMessages((all) => all.filter((x) => x.id !== m.id))} />
          }
        />
      ))}
    </AlertGroup>
  );
  return { notices, report };
}

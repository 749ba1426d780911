/** The part of noVNC's RFB class the console uses (noVNC ships no types). */
declare module '@novnc/novnc' {
  export default class RFB extends EventTarget {
    constructor(
      target: HTMLElement,
      urlOrChannel: string | WebSocket,
      options?: { shared?: boolean; credentials?: { password?: string } },
    );
    scaleViewport: boolean;
    resizeSession: boolean;
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    disconnect(): void;
    sendCtrlAltDel(): void;
    addEventListener(type: 'connect', listener: (e: CustomEvent<Record<string, never>>) => void): void;
    addEventListener(type: 'disconnect', listener: (e: CustomEvent<{ clean: boolean }>) => void): void;
    removeEventListener(type: 'connect', listener: (e: CustomEvent<Record<string, never>>) => void): void;
    removeEventListener(type: 'disconnect', listener: (e: CustomEvent<{ clean: boolean }>) => void): void;
  }
}

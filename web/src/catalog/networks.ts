/** Reading a NetworkAttachmentDefinition's CNI configuration for display (the server validates it). */

/** The plugin type and subnet a CNI configuration names, read leniently for display. */
export function describeConfig(config: string | undefined): { type: string; subnet: string } {
  try {
    const raw = JSON.parse(config ?? '') as Record<string, unknown>;
    const plugin = (Array.isArray(raw['plugins']) ? raw['plugins'][0] : raw) as Record<string, unknown>;
    const ipam = (plugin['ipam'] ?? {}) as Record<string, unknown>;
    const ranges = ipam['ranges'] as Record<string, unknown>[][] | undefined;
    const subnet = ipam['subnet'] ?? ipam['range'] ?? ranges?.[0]?.[0]?.['subnet'];
    return {
      type: typeof plugin['type'] === 'string' ? plugin['type'] : '',
      subnet: typeof subnet === 'string' ? subnet : '',
    };
  } catch {
    return { type: '', subnet: '' };
  }
}

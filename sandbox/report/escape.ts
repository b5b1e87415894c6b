const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text made safe for HTML and SVG, in element content and in quoted attribute values alike: every string a
 * scenario or a run provides (names, descriptions, reasons, alarm names) goes through here, so a scenario
 * named `<script>...` shows as text and never runs.
 */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);

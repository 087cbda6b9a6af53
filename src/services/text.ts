/** At most `max` characters of `text`, ending in `…` when it was cut (for labels, embeds, logs). */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}

/** When persistent dissonance calls for an amendment, and how long ALFRED may try to draft one. */
export interface AmendmentSettings {
  /** Dialogues above `highDissonance` within the window that trigger a proposal (default 3). */
  minEvents: number;
  /** The window, in milliseconds (default 24 h). */
  windowMs: number;
  /**
   * Different members those dialogues must come from (default 2), never more than `minEvents`: one
   * member alone never starts an amendment. A dialogue with no member (the terminal chat, the
   * motivator) counts as one more, the operator's.
   */
  minMembers: number;
  highDissonance: number;
  /** Drafts ALFRED may make before the attempt is abandoned (default 3). */
  maxAttempts: number;
}

export const DEFAULT_AMENDMENT_SETTINGS: AmendmentSettings = {
  minEvents: 3,
  minMembers: 2,
  windowMs: 24 * 60 * 60 * 1000,
  highDissonance: 0.8,
  maxAttempts: 3,
};

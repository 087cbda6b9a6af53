import { cutRecollection, recollectionQuote } from '../../shared/recollection.ts';
import type { DialogueRecord } from '../memory/interactionLog.ts';

/**
 * What `/memory forget` forgot, in the forms other places hold it: the records' ids (a golden
 * sample, a fine-tune line or an exam entry names its dialogue by them), the quotes of a plan that
 * recalled one (exactly as the prompt wrote them), and the words themselves (the task, each turn,
 * the answer), to cut where a model or a log copied them word for word.
 */
export interface Forgotten {
  /** The conversation (the Discord thread id). */
  conversationId: string;
  /** The interaction-log ids of its records. */
  ids: readonly string[];
  /** Each record as a recalling plan's prompt quoted it (`shared/recollection.ts`). */
  quotes: readonly string[];
  /**
   * Their words, to find copied verbatim where they are linked to it (a dialogue that recalled
   * it, a proposal that cites it, a log line): each task, answer and turn output whole, and each
   * line of a task or an answer, when {@link MIN_VERBATIM} characters or more. A persona's turns
   * count only whole: a line of theirs may be the persona's habit, found in every dialogue.
   */
  texts: readonly string[];
}

/** The shortest text taken as a copy of a forgotten dialogue: shorter ones ("Thank you.") are anyone's. */
export const MIN_VERBATIM = 24;

/** What stands where a forgotten dialogue's words were copied. */
export const FORGOTTEN_TEXT = '[forgotten]';

type ForgottenRecord = Pick<DialogueRecord, 'id' | 'conversationId' | 'task' | 'answer' | 'turns'>;

/** The forms of a conversation's records, as {@link Forgotten} describes them. */
export function forgottenOf(conversationId: string, records: readonly ForgottenRecord[]): Forgotten {
  const texts = new Set<string>();
  const add = (text: string, lines: boolean) => {
    for (const piece of lines ? [text, ...text.split('\n')] : [text]) {
      const trimmed = piece.trim();
      if (trimmed.length >= MIN_VERBATIM) texts.add(trimmed);
    }
  };
  for (const record of records) {
    add(record.task, true);
    add(record.answer, true);
    for (const turn of record.turns) add(turn.output, false);
  }
  return {
    conversationId,
    ids: records.map((record) => record.id),
    quotes: records.map((record) => recollectionQuote(record.task, record.answer)),
    // Longest first: a whole text is cut before a line of it.
    texts: [...texts].sort((a, b) => b.length - a.length),
  };
}

/** `text` with every quote of the forgotten dialogues and every verbatim copy of their words cut. */
export function cutForgotten(text: string, forgotten: Forgotten): string {
  let cut = text;
  for (const quote of forgotten.quotes) cut = cutRecollection(cut, quote);
  for (const words of forgotten.texts) if (cut.includes(words)) cut = cut.split(words).join(FORGOTTEN_TEXT);
  return cut;
}

/**
 * A JSON value with {@link cutForgotten} applied to every string in it (keys aside); the same
 * value (not a copy) when nothing in it changed.
 */
export function cutInValue<T>(value: T, forgotten: Forgotten): T {
  if (typeof value === 'string') return cutForgotten(value, forgotten) as T;
  if (Array.isArray(value)) {
    const items = value.map((item) => cutInValue(item, forgotten));
    return items.some((item, i) => item !== value[i]) ? (items as T) : value;
  }
  if (value && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]) => {
      const next = cutInValue(item, forgotten);
      if (next !== item) changed = true;
      return [key, next] as const;
    });
    return changed ? (Object.fromEntries(entries) as T) : value;
  }
  return value;
}

/**
 * The byte strings that mark a JSON line as holding the forgotten dialogues: an id as a JSON
 * string, a quote or a verbatim text as it is escaped inside one.
 */
export function jsonNeedles(forgotten: Forgotten, options: { texts: boolean }): Buffer[] {
  const escaped = (text: string) => Buffer.from(JSON.stringify(text).slice(1, -1));
  return [
    ...forgotten.ids.map((id) => Buffer.from(JSON.stringify(id))),
    ...forgotten.quotes.map(escaped),
    ...(options.texts ? forgotten.texts.map(escaped) : []),
  ];
}

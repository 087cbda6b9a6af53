import { SqliteStore } from '../sqliteStore.ts';

/**
 * People's reactions to the personas' posts (`DATA_DIR/reactions.sqlite`): which persona turn each
 * posted message is, and who reacted 👍 or 👎 to it. The bot writes both (the dialogue runner as
 * each turn is posted, the reaction listener as reactions come and go); curation reads them by a
 * dialogue's conversation and run, the keys its interaction log record carries.
 */

/** A reaction that counts: 👍 or 👎 (the codex's `[curation] reactions` names the emoji). */
export type Vote = 'up' | 'down';

/** One posted message of a persona's turn. */
export interface TurnPost {
  messageId: string;
  /** The conversation (the Discord thread id) and its run: the interaction log record's keys. */
  conversationId: string;
  run: number;
  persona: string;
  /** The turn's place in its run (1 for ALFRED's plan). */
  turn: number;
}

/** What people said of a persona's part of one dialogue (one run), over all its posts. */
export interface PeopleOnTurn {
  /** Who reacted 👍, in the order they did (each once). */
  up: string[];
  /** Who reacted 👎, in the order they did (each once). */
  down: string[];
  /** Whether an architect was among those who reacted 👎. */
  architectDown: boolean;
}

/** A persona's part of a dialogue that people reacted to. */
export interface ReactedTurn extends PeopleOnTurn {
  conversationId: string;
  run: number;
  persona: string;
}

/** A persona's part of a dialogue an architect's 👎 withdrew. */
export type Veto = Pick<ReactedTurn, 'conversationId' | 'run' | 'persona'>;

/** The emoji that count, as the codex names them. */
export interface ReactionEmoji {
  up: string;
  down: string;
}

export const DEFAULT_REACTIONS: Readonly<ReactionEmoji> = Object.freeze({ up: '👍', down: '👎' });

/**
 * Which vote an emoji is, if any: a Unicode emoji by itself, a server's own emoji by its name, id
 * or `<:name:id>` as a message writes it.
 */
export function voteOf(
  emoji: { name: string | null; id: string | null; animated?: boolean | null },
  settings: ReactionEmoji = DEFAULT_REACTIONS,
): Vote | undefined {
  const forms = new Set<string>();
  if (emoji.name) forms.add(emoji.name);
  if (emoji.id) {
    forms.add(emoji.id);
    forms.add(`<${emoji.animated ? 'a' : ''}:${emoji.name ?? ''}:${emoji.id}>`);
  }
  if (forms.has(settings.down)) return 'down';
  if (forms.has(settings.up)) return 'up';
  return undefined;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS turn_posts (
    message_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    run INTEGER NOT NULL,
    persona TEXT NOT NULL,
    turn INTEGER NOT NULL,
    posted_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS turn_posts_dialogue ON turn_posts (conversation_id, run, persona);
  CREATE TABLE IF NOT EXISTS reactions (
    message_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    vote TEXT NOT NULL CHECK (vote IN ('up', 'down')),
    architect INTEGER NOT NULL,
    at INTEGER NOT NULL,
    -- An architect's 👎 removes samples already written; set once curation has removed them.
    applied INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, user_id, vote)
  );
`;

interface PostRow {
  message_id: string;
  conversation_id: string;
  run: number;
  persona: string;
  turn: number;
}

interface VoteRow {
  conversation_id: string;
  run: number;
  persona: string;
  user_id: string;
  vote: Vote;
  architect: number;
}

const postOf = (row: PostRow): TurnPost => ({
  messageId: row.message_id,
  conversationId: row.conversation_id,
  run: row.run,
  persona: row.persona,
  turn: row.turn,
});

/** Adds a vote row to what people said of a turn (each person once per vote). */
function tally(people: PeopleOnTurn, row: VoteRow): void {
  const voters = row.vote === 'up' ? people.up : people.down;
  if (!voters.includes(row.user_id)) voters.push(row.user_id);
  if (row.vote === 'down' && row.architect === 1) people.architectDown = true;
}

const VOTES_OF_POSTS = `SELECT p.conversation_id, p.run, p.persona, r.user_id, r.vote, r.architect
  FROM reactions r JOIN turn_posts p ON p.message_id = r.message_id`;

export class ReactionStore extends SqliteStore {
  constructor(dataDir: string) {
    super(dataDir, 'reactions.sqlite', SCHEMA);
  }

  /** Remembers which turn the messages of a persona's post are (a split turn has several). */
  recordTurn(turn: Omit<TurnPost, 'messageId'> & { messageIds: readonly string[]; at: number }): void {
    this.transaction(() => {
      for (const messageId of turn.messageIds) {
        this.run(
          `INSERT OR REPLACE INTO turn_posts (message_id, conversation_id, run, persona, turn, posted_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          messageId,
          turn.conversationId,
          turn.run,
          turn.persona,
          turn.turn,
          turn.at,
        );
      }
    });
  }

  /** The persona turn a message is, if it is one. */
  postOf(messageId: string): TurnPost | undefined {
    const row = this.row<PostRow>('SELECT * FROM turn_posts WHERE message_id = ?', messageId);
    return row ? postOf(row) : undefined;
  }

  /**
   * Stores a person's vote on a message; returns the persona turn it is on, or undefined (and
   * stores nothing) when the message is no persona's post.
   */
  react(reaction: {
    messageId: string;
    userId: string;
    vote: Vote;
    architect: boolean;
    at: number;
  }): TurnPost | undefined {
    return this.transaction(() => {
      const post = this.postOf(reaction.messageId);
      if (!post) return undefined;
      this.run(
        `INSERT INTO reactions (message_id, user_id, vote, architect, at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET architect = excluded.architect`,
        reaction.messageId,
        reaction.userId,
        reaction.vote,
        reaction.architect ? 1 : 0,
        reaction.at,
      );
      return post;
    });
  }

  /** Takes a person's vote back; returns the persona turn it was on, if any. */
  unreact(reaction: { messageId: string; userId: string; vote: Vote }): TurnPost | undefined {
    return this.transaction(() => {
      const post = this.postOf(reaction.messageId);
      if (!post) return undefined;
      this.run(
        'DELETE FROM reactions WHERE message_id = ? AND user_id = ? AND vote = ?',
        reaction.messageId,
        reaction.userId,
        reaction.vote,
      );
      return post;
    });
  }

  /** What people said of a persona's part of one dialogue, over all the posts of its turns. */
  peopleOn(conversationId: string, run: number, persona: string): PeopleOnTurn {
    const people: PeopleOnTurn = { up: [], down: [], architectDown: false };
    const rows = this.rows<VoteRow>(
      `${VOTES_OF_POSTS} WHERE p.conversation_id = ? AND p.run = ? AND p.persona = ? ORDER BY r.at, r.rowid`,
      conversationId,
      run,
      persona,
    );
    for (const row of rows) tally(people, row);
    return people;
  }

  /** Every persona's part of a dialogue that someone reacted to (one persona's only, when named). */
  reactedTurns(persona?: string): ReactedTurn[] {
    const rows = persona
      ? this.rows<VoteRow>(`${VOTES_OF_POSTS} WHERE p.persona = ? ORDER BY r.at, r.rowid`, persona)
      : this.rows<VoteRow>(`${VOTES_OF_POSTS} ORDER BY r.at, r.rowid`);
    const turns = new Map<string, ReactedTurn>();
    for (const row of rows) {
      const key = JSON.stringify([row.conversation_id, row.run, row.persona]);
      let turn = turns.get(key);
      if (!turn) {
        turn = {
          conversationId: row.conversation_id,
          run: row.run,
          persona: row.persona,
          up: [],
          down: [],
          architectDown: false,
        };
        turns.set(key, turn);
      }
      tally(turn, row);
    }
    return [...turns.values()];
  }

  /** The personas' parts of dialogues an architect's 👎 withdrew whose samples are still to be removed. */
  pendingVetoes(): Veto[] {
    return this.rows<PostRow>(
      `SELECT DISTINCT p.conversation_id, p.run, p.persona FROM reactions r
         JOIN turn_posts p ON p.message_id = r.message_id
         WHERE r.vote = 'down' AND r.architect = 1 AND r.applied = 0`,
    ).map((row) => ({ conversationId: row.conversation_id, run: row.run, persona: row.persona }));
  }

  /** Their samples are removed: the vetoes are done with (the 👎 stays, and keeps new samples out). */
  markVetoesApplied(vetoes: readonly Veto[]): void {
    this.transaction(() => {
      for (const veto of vetoes) {
        this.run(
          `UPDATE reactions SET applied = 1 WHERE vote = 'down' AND architect = 1 AND message_id IN
             (SELECT message_id FROM turn_posts WHERE conversation_id = ? AND run = ? AND persona = ?)`,
          veto.conversationId,
          veto.run,
          veto.persona,
        );
      }
    });
  }

  /** Forgets the posts of these conversations and every reaction to them (`/memory forget`). */
  forgetConversations(conversationIds: readonly string[]): void {
    this.transaction(() => {
      for (const id of conversationIds) {
        this.run(
          'DELETE FROM reactions WHERE message_id IN (SELECT message_id FROM turn_posts WHERE conversation_id = ?)',
          id,
        );
        this.run('DELETE FROM turn_posts WHERE conversation_id = ?', id);
      }
    });
  }
}

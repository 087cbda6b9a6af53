import type { PostRequest } from './postingPort.ts';

/** A post waiting in its thread's queue. */
export interface Pending<Part> {
  request: PostRequest<Part>;
  /** The next part to send. */
  next: number;
  /** Whether its `onDelayed` was called. */
  told: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** One thread's posts, in order. */
export interface ThreadQueue<Part> {
  threadId: string;
  posts: Pending<Part>[];
}

/**
 * The threads of one parent channel taking turns, message by message, so none waits for
 * another's whole dialogue. A thread whose message is on its way is out of the line; it comes
 * back behind the others, or first when Discord refused its message.
 */
export class ThreadTurns<Part> {
  /** Served before the rotation: threads opening a run, and a thread whose message was refused. */
  private readonly first: ThreadQueue<Part>[] = [];
  /** Every other thread with something to post sends one message, then goes to the back. */
  private readonly rotation: ThreadQueue<Part>[] = [];
  private readonly threads = new Map<string, ThreadQueue<Part>>();

  /** Queues a post behind its thread's; a thread new to the line joins it (ahead, when it opens a run). */
  add(pending: Pending<Part>): void {
    const { threadId, opening } = pending.request;
    const queue = this.threads.get(threadId);
    if (queue) {
      queue.posts.push(pending);
      return;
    }
    const fresh = { threadId, posts: [pending] };
    this.threads.set(threadId, fresh);
    (opening ? this.first : this.rotation).push(fresh);
  }

  get empty(): boolean {
    return this.first.length === 0 && this.rotation.length === 0;
  }

  /** The threads in line, in the order they are served. */
  line(): ThreadQueue<Part>[] {
    return [...this.first, ...this.rotation];
  }

  /** Takes the thread at `index` of {@link line} out of the line while its message goes. */
  take(index: number): void {
    if (index < this.first.length) this.first.splice(index, 1);
    else this.rotation.splice(index - this.first.length, 1);
  }

  /** Its message was refused, not lost: the thread goes first, to send it again. */
  retry(queue: ThreadQueue<Part>): void {
    this.first.unshift(queue);
  }

  /** Its message went: the thread goes to the back, or out of the lane with nothing left to post. */
  rotate(queue: ThreadQueue<Part>): void {
    if (queue.posts.length > 0) this.rotation.push(queue);
    else this.forget(queue);
  }

  /** The thread has nothing left to post. */
  forget(queue: ThreadQueue<Part>): void {
    this.threads.delete(queue.threadId);
  }

  /** Empties the lane: every post waiting, for the caller to fail. */
  drop(): Pending<Part>[] {
    const dropped = [...this.threads.values()].flatMap((queue) => queue.posts);
    this.threads.clear();
    this.first.length = 0;
    this.rotation.length = 0;
    return dropped;
  }
}

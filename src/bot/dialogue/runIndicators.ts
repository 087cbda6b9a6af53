import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import type { DialogueThread } from '../posting/dialogueThread.ts';

/** Discord shows "typing…" for about 10 s; renew it a little sooner. */
const TYPING_RENEW_MS = 8_000;
/** A persona shows "typing…" only once it has thought this long: a quick turn needs no REST call for it. */
const TYPING_AFTER_MS = 2_000;
/** A dialogue is told its place in the model queue only if it still waits after this long. */
const QUEUE_NOTICE_AFTER_MS = 5_000;

/**
 * What a thread shows while a persona thinks: "typing…" once it has thought a while, renewed
 * until its turn comes; and, at most once a run, its place in the model queue if a call waits
 * long. A turn ends both. Each checks its signal when its sleep ends: a turn may have come meanwhile.
 */
export class RunIndicators {
  private typing: AbortController | undefined;
  private queueWait: AbortController | undefined;
  private toldQueue = false;
  /** The queue notice being posted: a turn waits for it, so the notice stays above the turn. */
  private queueNotice: Promise<void> = Promise.resolve();

  constructor(
    private readonly thread: Pick<DialogueThread, 'id' | 'typing' | 'send'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** A persona started thinking. */
  thinking(): void {
    if (this.typing) return;
    this.typing = new AbortController();
    const { signal } = this.typing;
    const send = () => void this.thread.typing().catch(() => undefined);
    this.clock.sleep(TYPING_AFTER_MS, signal).then(
      () => {
        if (signal.aborted) return;
        send();
        signal.addEventListener('abort', this.clock.every(TYPING_RENEW_MS, send), { once: true });
      },
      () => undefined,
    );
  }

  /** A model call waits in the queue at this place (and why, when the model is lent out). */
  queued(position: number, reason?: string): void {
    if (this.queueWait || this.toldQueue) return;
    this.queueWait = new AbortController();
    const { signal } = this.queueWait;
    this.clock.sleep(QUEUE_NOTICE_AFTER_MS, signal).then(
      () => {
        if (signal.aborted) return;
        this.toldQueue = true;
        this.queueNotice = this.thread
          .send({
            content: reason
              ? `⏳ The model is busy ${reason}: this dialogue was number ${position} in the queue and follows when it is free.`
              : `⏳ Other dialogues are using the model: this one was number ${position} in the queue and follows as soon as it can.`,
          })
          .catch((error: unknown) =>
            this.log.warn({ err: error, threadId: this.thread.id }, 'could not post the queue notice'),
          );
      },
      () => undefined,
    );
  }

  /** Words are about to show: both indicators stop, and a queue notice being posted lands first. */
  async turnArrives(): Promise<void> {
    this.stop();
    await this.queueNotice;
  }

  stop(): void {
    this.typing?.abort();
    this.typing = undefined;
    this.queueWait?.abort();
    this.queueWait = undefined;
  }
}

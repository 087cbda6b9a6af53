/** What the dialogue asks of the tool forge. */
export interface ToolForgeRequest {
  /** BRICK's specification, as he wrote it after `TOOL_REQUIRED:`. */
  spec: string;
  conversationId: string;
  /** The persona that asked (a dialogue's forge), or the member who ran `/tools forge`. */
  requestedBy: string;
  /**
   * The member the tool is forged for: whoever sent the message the dialogue answers, or ran
   * `/tools forge`. A tool gains versions from its owner's forges only (see `ownerOf`). None: the
   * operator (the terminal chat, scripts).
   */
  forgedFor?: string | null;
  /** The task of the run that asked, for context. */
  task: string;
  /** The server it was asked in (the tool stays there); none outside servers. */
  guildId?: string | null;
  /** The Discord channel or thread it was asked in, for the log channel's card; none outside Discord. */
  channelId?: string | null;
  /**
   * The place whose readers may see the tool (its spec may quote their dialogue): the channel it
   * was asked in, or a private thread (a public thread's parent); kept in its manifest.
   */
  placeId?: string | null;
  /** The places whose tools may be reused for it (`ToolScope.channelIds`). Absent: any of its server's. */
  readableChannels?: readonly string[];
}

export type ToolForgeStatus = 'created' | 'reused' | 'failed' | 'unavailable';

export interface ToolForgeResult {
  status: ToolForgeStatus;
  /** The tool's name, when one was created or reused. */
  toolName?: string;
  /** The tool, when one was created or reused: offered to the personas from then on. */
  tool?: ToolInfo;
  /** One paragraph for the dialogue: what happened and what BRICK can now do. */
  message: string;
}

/** A registered tool as a persona is offered it. */
export interface ToolInfo {
  name: string;
  version: number;
  description: string;
  /** JSON Schema of its one input. */
  inputSchema: Record<string, unknown>;
}

export type ToolCallOutcome =
  | { ok: true; result: unknown; json: string; ms: number }
  | { ok: false; error: string; ms: number };

/**
 * Where tools are looked for: a server id sees that server's tools and those forged outside any
 * server; null (a dialogue outside servers) sees only the latter; undefined (the operator) sees all.
 */
export interface ToolScope {
  guildId?: string | null;
  /**
   * Only tools forged in these places (channels, private threads) and those whose place is not
   * known (forged outside Discord, or before places were kept). Absent: no such filter.
   */
  channelIds?: readonly string[];
}

/** What the dialogue needs of the registered tools. */
export interface ToolBox {
  /** Every registered tool in scope (newest versions). */
  list(scope?: ToolScope): ToolInfo[];
  info(name: string, scope?: ToolScope): ToolInfo | undefined;
  /** The tools in scope most relevant to a task, at most `k`. */
  relevant(query: string, options?: ToolScope & { k?: number }): Promise<ToolInfo[]>;
  /** Validates the input against the tool's schema and runs it in the sandbox; never rejects. */
  call(
    name: string,
    input: unknown,
    options?: ToolScope & { signal?: AbortSignal },
  ): Promise<ToolCallOutcome>;
}

/** The tactical loop's port: the graph calls it, the ToolForge service implements it. */
export interface ToolForge {
  forge(request: ToolForgeRequest, options?: { signal?: AbortSignal }): Promise<ToolForgeResult>;
}

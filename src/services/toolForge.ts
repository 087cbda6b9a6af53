/** What the dialogue asks of the tool forge. */
export interface ToolForgeRequest {
  /** BRICK's specification, as he wrote it after `TOOL_REQUIRED:`. */
  spec: string;
  conversationId: string;
  /** The persona that asked. */
  requestedBy: string;
  /** The task of the run that asked, for context. */
  task: string;
}

export type ToolForgeStatus = 'created' | 'reused' | 'failed' | 'unavailable';

export interface ToolForgeResult {
  status: ToolForgeStatus;
  /** The tool's name, when one was created or reused. */
  toolName?: string;
  /** One paragraph for the dialogue: what happened and what BRICK can now do. */
  message: string;
}

/** The tactical loop's port: the graph calls it, the ToolForge service implements it. */
export interface ToolForge {
  forge(request: ToolForgeRequest, options?: { signal?: AbortSignal }): Promise<ToolForgeResult>;
}

/** The default until a real forge is wired: it says so, and the dialogue carries on. */
export function createUnavailableToolForge(): ToolForge {
  return {
    async forge() {
      return {
        status: 'unavailable',
        message:
          'No tool forge is configured in this deployment, so no tool was created. Carry on with what you can do without it.',
      };
    },
  };
}

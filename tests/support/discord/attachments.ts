/**
 * Attachments: files uploaded with a message (by the bot, a webhook, an interaction response or a
 * user through the driver) kept in memory, and the emulator's CDN serving them at
 * `/attachments/{channel}/{id}/{filename}`, well or misbehaving as `AttachmentServing` says.
 */

import type { ServerResponse } from 'node:http';
import type { EmulatorState, OutgoingMessage, UploadedFile } from './model.ts';
import { baseUrl, snowflake } from './state.ts';
import type { EmulatedAttachment, RequestRecord } from './types.ts';
import { guessContentType } from './util.ts';

/** Keeps an uploaded file for download and describes it as the message's attachment. */
function storeAttachment(
  state: EmulatorState,
  channelId: string,
  file: UploadedFile,
  filename: string,
): EmulatedAttachment {
  const id = snowflake(state);
  const url = `${baseUrl(state)}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
  const contentType = file.contentType || guessContentType(filename) || 'application/octet-stream';
  state.attachmentData.set(id, {
    data: file.data,
    contentType,
    serving: file.serving ?? { kind: 'normal' },
  });
  const size = file.declaredSize ?? file.data.length;
  const attachment: EmulatedAttachment = { id, filename, size, url, proxy_url: url };
  attachment.content_type = contentType;
  return attachment;
}

/** The attachments of a message created or edited with `files` (named as `payload_json` says). */
export function attachmentsFor(
  state: EmulatorState,
  channelId: string,
  outgoing: OutgoingMessage,
  files: UploadedFile[],
): EmulatedAttachment[] {
  return files.map((file, index) => {
    // payload_json's `attachments[].id` refers to `files[id]`; it may rename the file.
    const declared = outgoing.attachments?.find(
      (attachment) => String(attachment.id) === String(index) || file.field === `files[${attachment.id}]`,
    );
    const filename = typeof declared?.filename === 'string' ? declared.filename : file.filename;
    return storeAttachment(state, channelId, file, filename);
  });
}

/** Serves an attachment download, misbehaving as its `AttachmentServing` says. */
export function serveAttachment(
  state: EmulatorState,
  pathname: string,
  record: RequestRecord,
  response: ServerResponse,
): void {
  const id = pathname.split('/')[3] ?? '';
  const stored = state.attachmentData.get(id);
  if (!stored) {
    record.status = 404;
    response.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '9' });
    response.end('Not Found');
    return;
  }
  const { data, contentType, serving } = stored;
  record.bytesSent = 0;
  response.on('close', () => {
    record.closedEarly = !response.writableFinished;
  });
  const write = (chunk: Buffer): boolean => {
    record.bytesSent = (record.bytesSent ?? 0) + chunk.length;
    return response.write(chunk);
  };
  const start = (headers: Record<string, string>) => {
    record.status = 200;
    response.writeHead(200, { 'Content-Type': contentType, ...headers });
  };
  switch (serving.kind) {
    case 'normal':
      start({ 'Content-Length': String(data.length) });
      write(data);
      response.end();
      return;
    case 'hang-before-headers':
      return;
    case 'hang-after-headers':
      start({ 'Content-Length': String(data.length) });
      response.flushHeaders();
      if (serving.bytes) write(data.subarray(0, serving.bytes));
      return;
    case 'oversize': {
      start(serving.contentLength === 'actual' ? { 'Content-Length': String(serving.bytes) } : {});
      const block = Buffer.alloc(64 * 1024, 'x');
      let left = serving.bytes;
      const pump = () => {
        while (left > 0 && !response.destroyed) {
          const chunk = left >= block.length ? block : block.subarray(0, left);
          left -= chunk.length;
          if (!write(chunk)) {
            response.once('drain', pump);
            return;
          }
        }
        if (left === 0) response.end();
      };
      pump();
      return;
    }
    case 'trickle': {
      start({ 'Content-Length': String(data.length) });
      response.flushHeaders();
      let offset = 0;
      const timer = setInterval(() => {
        if (response.destroyed) {
          clearInterval(timer);
          return;
        }
        write(data.subarray(offset, offset + serving.chunkBytes));
        offset += serving.chunkBytes;
        if (offset >= data.length) {
          clearInterval(timer);
          response.end();
        }
      }, serving.intervalMs);
      response.on('close', () => clearInterval(timer));
      return;
    }
  }
}

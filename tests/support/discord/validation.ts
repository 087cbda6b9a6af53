/**
 * Discord's checks on request bodies: `Invalid Form Body` (50035) errors in Discord's nested shape,
 * message limits (content, embeds, components, files), names, query limits and command bodies.
 */

import { MAX_CONTENT_LENGTH, MAX_FILE_BYTES, MAX_FILES, MessageFlag } from './constants.ts';
import type { JsonObject, OutgoingMessage, UploadedFile } from './model.ts';
import { ApiError, invalidJson } from './results.ts';
import { isObject } from './util.ts';

/** Collects `Invalid Form Body` errors in Discord's nested `{field: {_errors: [...]}}` shape. */
export class FormErrors {
  private readonly tree: JsonObject = {};
  private count = 0;

  add(path: Array<string | number>, code: string, message: string): void {
    let node = this.tree;
    for (const key of path) {
      const next = node[String(key)];
      if (isObject(next)) {
        node = next;
      } else {
        const created: JsonObject = {};
        node[String(key)] = created;
        node = created;
      }
    }
    const list = Array.isArray(node._errors) ? node._errors : [];
    list.push({ code, message });
    node._errors = list;
    this.count += 1;
  }

  throwIfAny(): void {
    if (this.count > 0) throw new ApiError(400, 50035, 'Invalid Form Body', this.tree);
  }
}

/** An integer query parameter within [min, max]; `fallback` when absent. */
export function readLimitQuery(
  errors: FormErrors,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(number)) {
    errors.add(['limit'], 'NUMBER_TYPE_COERCE', `Value "${value}" is not int.`);
  } else if (number < min) {
    errors.add(['limit'], 'NUMBER_TYPE_MIN', `int value should be greater than or equal to ${min}.`);
  } else if (number > max) {
    errors.add(['limit'], 'NUMBER_TYPE_MAX', `int value should be less than or equal to ${max}.`);
  } else return number;
  return fallback;
}

function checkLength(errors: FormErrors, path: Array<string | number>, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) {
    errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }
}

export function checkBetween(
  errors: FormErrors,
  path: Array<string | number>,
  value: string,
  min: number,
  max: number,
) {
  if (value.length < min || value.length > max) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);
  }
}
function readObjectArray(errors: FormErrors, body: JsonObject, key: string): JsonObject[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    errors.add([key], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return undefined;
  }
  return value.filter(isObject);
}

/** A message body's fields, type-checked (50035), or 50109 when the body is not a JSON object. */
export function readOutgoing(body: unknown): OutgoingMessage {
  if (body === undefined) return { hasStickersOrPoll: false };
  if (!isObject(body)) throw invalidJson();
  const errors = new FormErrors();
  const out: OutgoingMessage = {
    hasStickersOrPoll:
      (Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) || isObject(body.poll),
  };
  for (const key of ['content', 'username', 'avatar_url'] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') out[key] = value;
    else errors.add([key], 'BASE_TYPE_STRING', 'Must be a string.');
  }
  const embeds = readObjectArray(errors, body, 'embeds');
  if (embeds) out.embeds = embeds;
  const components = readObjectArray(errors, body, 'components');
  if (components) out.components = components;
  const attachments = readObjectArray(errors, body, 'attachments');
  if (attachments) out.attachments = attachments;
  if (isObject(body.allowed_mentions)) out.allowed_mentions = body.allowed_mentions;
  if (isObject(body.message_reference)) out.message_reference = body.message_reference;
  if (typeof body.flags === 'number') out.flags = body.flags;
  if (typeof body.tts === 'boolean') out.tts = body.tts;
  errors.throwIfAny();
  return out;
}

function validateEmbeds(errors: FormErrors, embeds: JsonObject[]): void {
  if (embeds.length > 10) errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  const count = (value: unknown) => {
    if (typeof value === 'string') total += value.length;
  };
  embeds.forEach((embed, index) => {
    checkLength(errors, ['embeds', index, 'title'], embed.title, 256);
    checkLength(errors, ['embeds', index, 'description'], embed.description, 4096);
    count(embed.title);
    count(embed.description);
    if (isObject(embed.footer)) {
      checkLength(errors, ['embeds', index, 'footer', 'text'], embed.footer.text, 2048);
      count(embed.footer.text);
    }
    if (isObject(embed.author)) {
      checkLength(errors, ['embeds', index, 'author', 'name'], embed.author.name, 256);
      count(embed.author.name);
    }
    const fields = Array.isArray(embed.fields) ? embed.fields.filter(isObject) : [];
    if (fields.length > 25) {
      errors.add(['embeds', index, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    fields.forEach((field, fieldIndex) => {
      checkLength(errors, ['embeds', index, 'fields', fieldIndex, 'name'], field.name, 256);
      checkLength(errors, ['embeds', index, 'fields', fieldIndex, 'value'], field.value, 1024);
      count(field.name);
      count(field.value);
    });
  });
  if (total > 6000) {
    errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  }
}

function validateComponents(errors: FormErrors, rows: JsonObject[]): void {
  if (rows.length > 5) errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  const customIds = new Set<string>();
  rows.forEach((row, rowIndex) => {
    const children = Array.isArray(row.components) ? row.components.filter(isObject) : [];
    if (row.type === 1 && children.length > 5) {
      errors.add(
        ['components', rowIndex, 'components'],
        'BASE_TYPE_MAX_LENGTH',
        'Must be 5 or fewer in length.',
      );
    }
    children.forEach((child, childIndex) => {
      const path = ['components', rowIndex, 'components', childIndex];
      checkLength(errors, [...path, 'label'], child.label, 80);
      if (typeof child.custom_id !== 'string') return;
      checkBetween(errors, [...path, 'custom_id'], child.custom_id, 1, 100);
      if (customIds.has(child.custom_id)) {
        errors.add(
          [...path, 'custom_id'],
          'COMPONENT_CUSTOM_ID_DUPLICATED',
          'Component custom id cannot be duplicated',
        );
      }
      customIds.add(child.custom_id);
    });
  });
}

/** Discord's checks on a message body: limits first (50035), then emptiness (50006). */
export function validateOutgoing(
  message: OutgoingMessage,
  files: UploadedFile[],
  options: { isEdit: boolean },
): void {
  const errors = new FormErrors();
  checkLength(errors, ['content'], message.content, MAX_CONTENT_LENGTH);
  if (message.embeds) validateEmbeds(errors, message.embeds);
  if (message.components && ((message.flags ?? 0) & MessageFlag.IsComponentsV2) === 0) {
    validateComponents(errors, message.components);
  }
  if (files.length > MAX_FILES)
    errors.add(['files'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  if (message.username !== undefined) validateWebhookName(errors, ['username'], message.username);
  errors.throwIfAny();
  if (files.some((file) => file.data.length > MAX_FILE_BYTES)) {
    throw new ApiError(413, 40005, 'Request entity too large');
  }
  const isEmpty =
    (message.content ?? '').trim() === '' &&
    (message.embeds?.length ?? 0) === 0 &&
    (message.components?.length ?? 0) === 0 &&
    files.length === 0 &&
    !message.hasStickersOrPoll;
  if (isEmpty && !options.isEdit) throw new ApiError(400, 50006, 'Cannot send an empty message');
}

/** Discord's rules for a webhook's name (or a message's `username`): 1–80 long, no 'clyde' or 'discord'. */
export function validateWebhookName(errors: FormErrors, path: string[], name: string): void {
  checkBetween(errors, path, name, 1, 80);
  const lowered = name.toLowerCase();
  for (const banned of ['clyde', 'discord']) {
    if (lowered.includes(banned)) {
      errors.add(path, 'USERNAME_INVALID_CONTAINS', `Username cannot contain "${banned}"`);
    }
  }
}
/** Bulk overwrites key errors by index, single creates and edits by field. */
export function validateCommands(bodies: JsonObject[], bulk: boolean): void {
  const errors = new FormErrors();
  const names = new Set<string>();
  bodies.forEach((body, index) => {
    const type = typeof body.type === 'number' ? body.type : 1;
    const name = typeof body.name === 'string' ? body.name : '';
    const prefix = bulk ? [index] : [];
    if (type === 1 && !/^[-_'\p{L}\p{N}]{1,32}$/u.test(name)) {
      errors.add([...prefix, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    } else if (type === 1 && name !== name.toLowerCase()) {
      errors.add([...prefix, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name must be lower case');
    }
    if (type === 1) {
      checkBetween(
        errors,
        [...prefix, 'description'],
        typeof body.description === 'string' ? body.description : '',
        1,
        100,
      );
    }
    if (Array.isArray(body.options) && body.options.length > 25) {
      errors.add([...prefix, 'options'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    const key = `${type}:${name}`;
    if (names.has(key)) {
      errors.add(
        [...prefix, 'name'],
        'APPLICATION_COMMANDS_DUPLICATE_NAME',
        `Application command names must be unique`,
      );
    }
    names.add(key);
  });
  errors.throwIfAny();
}

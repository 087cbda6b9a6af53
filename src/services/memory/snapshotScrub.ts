import { open } from 'node:fs/promises';

/**
 * hnswlib deletes a vector by marking it: its data stays in the index, and in every file written
 * from it, until a new vector takes its place. A forgotten dialogue's embedding must not stay on
 * disk, so each snapshot file is scrubbed before it is kept: the data of every element marked
 * deleted is overwritten with zeros. The graph's links stay (they hold only element numbers), so
 * the file loads and searches as before; a zeroed element is only a waypoint, never a result.
 *
 * The layout is hnswlib's `saveIndex` (hnswalg.h, hnswlib 0.8 as hnswlib-node 3 builds it): a
 * header of 96 bytes, then each element's level-0 block — its link list (whose third byte holds
 * the deleted mark), its vector, its label — then the upper levels' links. A start reads the
 * marks too (`countLiveElements`): a snapshot's record is not trusted to count them right.
 */

const HEADER_BYTES = 96;
const DELETE_MARK = 0x01;
/** Elements read and written back per pass: about 8 MB at a time. */
const CHUNK_BYTES = 8 * 1024 * 1024;

interface Layout {
  count: number;
  perElement: number;
  /** Where, within an element's block, its link list, its vector and its label begin. */
  links: number;
  data: number;
  label: number;
}

/** The element layout a header describes; throws when it is not one this code knows. */
function layoutOf(header: Buffer, fileBytes: number): Layout {
  const field = (offset: number) => Number(header.readBigUInt64LE(offset));
  const layout: Layout = {
    links: field(0),
    count: field(16),
    perElement: field(24),
    label: field(32),
    data: field(40),
  };
  const sane =
    layout.links === 0 &&
    layout.perElement > 0 &&
    layout.data >= 4 &&
    layout.data < layout.label &&
    layout.label + 8 <= layout.perElement &&
    HEADER_BYTES + layout.count * layout.perElement <= fileBytes;
  if (!sane) throw new Error('the snapshot file is not an hnswlib index of the layout expected');
  return layout;
}

/** Overwrites with zeros the vector of every element marked deleted in an hnswlib file; returns how many. */
export async function zeroDeletedVectors(path: string): Promise<number> {
  let zeroed = 0;
  await scanElements(path, 'r+', (block, at, layout) => {
    if (!isMarkedDeleted(block, at, layout)) return false;
    block.fill(0, at + layout.data, at + layout.label);
    zeroed++;
    return true;
  });
  return zeroed;
}

/**
 * How many elements of an hnswlib file are not marked deleted, read from the file itself: its
 * loaded index cannot say (hnswlib-node lists deleted labels with the live ones).
 */
export async function countLiveElements(path: string): Promise<number> {
  let live = 0;
  await scanElements(path, 'r', (block, at, layout) => {
    if (!isMarkedDeleted(block, at, layout)) live++;
    return false;
  });
  return live;
}

const isMarkedDeleted = (block: Buffer, at: number, layout: Layout) =>
  ((block[at + layout.links + 2] ?? 0) & DELETE_MARK) !== 0;

/**
 * Reads an hnswlib file's level-0 blocks a chunk at a time, off the event loop, handing each
 * element (its offset in the chunk) to `visit`; a chunk in which `visit` changed something is
 * written back (`flags` 'r+').
 */
async function scanElements(
  path: string,
  flags: 'r' | 'r+',
  visit: (block: Buffer, at: number, layout: Layout) => boolean,
): Promise<void> {
  const file = await open(path, flags);
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, 0);
    if (bytesRead < HEADER_BYTES) throw new Error('the snapshot file is shorter than its header');
    const layout = layoutOf(header, (await file.stat()).size);
    const perPass = Math.max(1, Math.floor(CHUNK_BYTES / layout.perElement));
    const buffer = Buffer.alloc(perPass * layout.perElement);
    for (let first = 0; first < layout.count; first += perPass) {
      const elements = Math.min(perPass, layout.count - first);
      const bytes = elements * layout.perElement;
      const position = HEADER_BYTES + first * layout.perElement;
      await readFully(file, buffer, bytes, position);
      let changed = false;
      for (let i = 0; i < elements; i++) if (visit(buffer, i * layout.perElement, layout)) changed = true;
      if (changed) await file.write(buffer, 0, bytes, position);
    }
  } finally {
    await file.close();
  }
}

async function readFully(
  file: Awaited<ReturnType<typeof open>>,
  buffer: Buffer,
  bytes: number,
  position: number,
): Promise<void> {
  for (let read = 0; read < bytes; ) {
    const { bytesRead } = await file.read(buffer, read, bytes - read, position + read);
    if (bytesRead === 0) throw new Error('the snapshot file ended early');
    read += bytesRead;
  }
}

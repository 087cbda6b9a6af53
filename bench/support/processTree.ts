import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * A benchmarked program as a process tree (a wrapper such as npm or tsx starts node beneath it),
 * read from Linux's /proc: CPU time and resident memory of every process in it.
 */

const CLOCK_TICKS_PER_S = 100;

/** The process and all its descendants that are still alive. */
export function treeOf(pid: number): number[] {
  const found = [pid];
  for (let i = 0; i < found.length; i += 1) {
    const current = found[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children) found.push(...children.split(/\s+/).map(Number));
      } catch {
        // The task ended meanwhile.
      }
    }
  }
  return found;
}

/** User + system CPU of one process so far, in ms (0 when it is gone). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ")": utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** Resident memory of one process, in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The command line of one process. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export interface TreeSample {
  cpuMs: number;
  /** Every process of the tree together. */
  rssBytes: number;
  /** The tree's largest process: the bot itself, beneath its wrappers. */
  largestRssBytes: number;
  processes: number;
}

export function sampleTree(pid: number): TreeSample {
  const pids = treeOf(pid);
  const rss = pids.map(rssOf);
  return {
    cpuMs: pids.reduce((sum, p) => sum + cpuMsOf(p), 0),
    rssBytes: rss.reduce((a, b) => a + b, 0),
    largestRssBytes: Math.max(0, ...rss),
    processes: pids.length,
  };
}

/** Starts a command in its own process group (so the whole tree can be stopped), output discarded. */
export function launch(command: readonly string[], env: Record<string, string>, cwd: string): ChildProcess {
  const [file, ...args] = command;
  return spawn(file!, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
}

/** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the launched process has exited. */
export async function stopTree(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // Already gone.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // Wrappers may exit before the node beneath them: give the group a moment, then make sure.
  signal('SIGKILL');
}

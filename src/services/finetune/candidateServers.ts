import { publicMessageOf, withoutHostDetails } from '../../shared/hostDetails.ts';
import type { LlmProvider } from '../llm/chatModel.ts';
import type { FinetuneRuntime } from './fineTunerDeps.ts';
import type { JobProgress } from './jobProgress.ts';
import type { Registration, RegistrationRequest, TrainerExport } from './registrar.ts';
import { at, type ModelServer, SERVER_NAMES, serversOf } from './serving.ts';

/**
 * A candidate's servers: every server that serves its persona (each of the codex's `hosts`, else
 * the provider's own) is asked before training what it takes, and is given the candidate before
 * the candidate can be put in force, so that a call sent to any of them finds it (the
 * evaluation's calls too, on whichever is least busy). A server that refuses fails the
 * registration, and the others lose what they took: nothing will name it, and a runtime adapter
 * left loaded would hold GPU memory and answer for the next job's version of the same name.
 * With one server, each step is what it always was.
 */

/** The persona's servers, as a registration needs them: their kind, each one, what the trainer exports for them. */
export interface JobServer {
  provider: LlmProvider;
  servers: ModelServer[];
  export: TrainerExport;
}

/**
 * How a server is named in a job's error: `Ollama at http://gpu2:11434 (host 2 of 2)`; the
 * provider's own server by its kind alone, as ever. Public words take the address out.
 */
function nameOf(provider: LlmProvider, servers: readonly ModelServer[], server: ModelServer): string {
  if (server.address === undefined) return SERVER_NAMES[provider];
  const place = servers.length > 1 ? ` (host ${servers.indexOf(server) + 1} of ${servers.length})` : '';
  return `${SERVER_NAMES[provider]} at ${server.address}${place}`;
}

/** What a refusal says, for the operator and for the public: `<why>: <the server's reason>` each. */
function refusal(why: string, error: unknown): { error: string; publicError: string } {
  return {
    error: `${why}: ${(error as Error).message}`,
    publicError: `${withoutHostDetails(why)}: ${publicMessageOf(error)}`,
  };
}

/**
 * 1½. The persona's servers asked, before any training, whether each can take a fine-tuned model
 * and what the trainer should export for it (servers that differ get both exports). Returns
 * undefined when one cannot (the job has failed, naming it).
 */
export async function askServer(
  deps: Pick<FinetuneRuntime, 'registrars' | 'registrarAt' | 'providerOf' | 'personas' | 'log'>,
  progress: JobProgress,
): Promise<JobServer | undefined> {
  const { provider, servers } = serversOf(deps, progress.job.persona);
  if (!servers.length) {
    await progress.fail(
      `${SERVER_NAMES[provider]} is not configured: nothing could serve the fine-tuned model`,
    );
    return undefined;
  }
  const plans = await Promise.allSettled(servers.map((server) => server.registrar.prepare()));
  const exports = new Set<TrainerExport>();
  for (const [i, plan] of plans.entries()) {
    const server = servers[i] as ModelServer;
    if (plan.status === 'rejected') {
      const said = refusal(
        `${nameOf(provider, servers, server)} cannot take a fine-tuned model`,
        plan.reason,
      );
      await progress.fail(said.error, undefined, said.publicError);
      return undefined;
    }
    deps.log.info(
      { job: progress.job.id, provider, ...at(server), export: plan.value.export },
      plan.value.note,
    );
    exports.add(plan.value.export);
  }
  return { provider, servers, export: exports.size === 1 ? ([...exports][0] as TrainerExport) : 'both' };
}

/** A candidate on every server, or why not (in the operator's words and in public ones). */
export type Registered =
  | { ok: true; registration: Registration; hosts?: string[] }
  | { ok: false; error: string; publicError: string };

/**
 * The registrations of several servers as one: the first's path (the servers of one persona are
 * of one kind; Ollamas of different versions may take different paths, which the summary says),
 * bytes and files added up, and each server's summary. One server's is its own, as ever.
 */
function together(servers: readonly ModelServer[], registrations: Registration[]): Registration {
  const [first] = registrations as [Registration];
  if (registrations.length === 1) return first;
  const sum = (field: 'bytes' | 'uploaded' | 'reused') =>
    registrations.reduce((total, registration) => total + registration[field], 0);
  return {
    path: first.path,
    model: first.model,
    bytes: sum('bytes'),
    uploaded: sum('uploaded'),
    reused: sum('reused'),
    summary: registrations
      .map((registration, i) => `on host ${i + 1} (${servers[i]?.address}): ${registration.summary}`)
      .join('; '),
  };
}

/**
 * The candidate taken off the servers that took it, another having refused it; returns what to
 * add to the job's error about them (empty when there were none).
 */
async function removeFrom(
  deps: Pick<FinetuneRuntime, 'log'>,
  took: readonly ModelServer[],
  model: string,
): Promise<string> {
  const removed: string[] = [];
  const left: string[] = [];
  for (const server of took) {
    const remove = server.registrar.remove ?? server.registrar.retire;
    const address = server.address ?? 'its server';
    try {
      if (!remove) throw new Error('the server cannot remove a model');
      await remove(model);
      deps.log.info({ model, ...at(server) }, 'removed a candidate another server refused');
      removed.push(address);
    } catch (error) {
      deps.log.warn(
        { err: error, model, ...at(server) },
        'could not remove a candidate another server refused',
      );
      left.push(address);
    }
  }
  return [
    ...(removed.length ? [`; it was removed from ${removed.join(', ')}, which had taken it`] : []),
    ...(left.length ? [`; it is still on ${left.join(', ')} (it could not be removed: see the log)`] : []),
  ].join('');
}

/**
 * 4 (the servers' part). The candidate put on every server of its persona at once. A server that
 * refuses fails the registration, naming it; what the others took is removed.
 */
export async function registerOnServers(
  deps: Pick<FinetuneRuntime, 'log'>,
  server: Pick<JobServer, 'provider' | 'servers'>,
  request: RegistrationRequest,
): Promise<Registered> {
  const { provider, servers } = server;
  const settled = await Promise.allSettled(servers.map((s) => s.registrar.register(request)));
  const registrations = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const hosts = servers.flatMap((s) => (s.address === undefined ? [] : [s.address]));
  if (registrations.length === servers.length)
    return { ok: true, registration: together(servers, registrations), ...(hosts.length ? { hosts } : {}) };
  const refusals = settled.flatMap((outcome, i) =>
    outcome.status === 'rejected'
      ? [
          refusal(
            `${nameOf(provider, servers, servers[i] as ModelServer)} could not register the candidate`,
            outcome.reason,
          ),
        ]
      : [],
  );
  const note = await removeFrom(
    deps,
    servers.filter((_, i) => settled[i]?.status === 'fulfilled'),
    request.name,
  );
  return {
    ok: false,
    error: `${refusals.map((r) => r.error).join('; ')}${note}`,
    publicError: `${refusals.map((r) => r.publicError).join('; ')}${withoutHostDetails(note)}`,
  };
}

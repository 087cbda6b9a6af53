import type { Config } from '../../services/config.ts';
import type { EvidenceReaders } from '../../services/governance/amendments.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';

/**
 * Who may read a proposal's evidence, as the bot knows it: a proposal is posted in the
 * governance channel (or, when there is none, where `/codex propose` was asked), and its readers
 * may read a dialogue when every one of them can read the channel it was held in.
 */
export function governanceReaders(
  access: Pick<ChannelAccess, 'sharedWith'>,
  config: Pick<Config, 'governanceChannelId'>,
): EvidenceReaders {
  return {
    channelFor: (askedIn) => config.governanceChannelId ?? askedIn,
    readable(audience) {
      const channels = new Set(access.sharedWith(audience));
      return (channelId) => channelId !== undefined && channels.has(channelId);
    },
  };
}

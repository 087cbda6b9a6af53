// The floor the benchmarks hold the bot against: the least a discord.js bot must do for one BAT OS
// dialogue. The unmodified discord.js Client, the bot's intents, one webhook per channel, and for a
// mention: a thread on the message, four chat calls to Ollama (ALFRED's plan, BRICK's thesis,
// ROBIN's antithesis, ALFRED's answer) and each answer posted through the webhook as its persona.
// No graph, no storage, no pacing. Plain JavaScript, so that it starts with plain `node`.
//
// As a program (`node bench/floor/floorBot.mjs`): DISCORD_API_URL, DISCORD_TOKEN, OLLAMA_HOST and
// FLOOR_MODELS (`ALFRED,BRICK,ROBIN` model names) from the environment; SIGTERM stops it.
import { pathToFileURL } from 'node:url';
import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';

const NO_MENTIONS = { parse: [], repliedUser: false };

/**
 * @param {{ apiUrl: string, ollamaHost: string, models: { ALFRED: string, BRICK: string, ROBIN: string } }} options
 */
export function createFloorBot(options) {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    partials: [Partials.Channel],
    allowedMentions: NO_MENTIONS,
    rest: { api: options.apiUrl },
  });
  /** @type {Map<string, Promise<import('discord.js').Webhook>>} */
  const webhooks = new Map();

  /** @param {string} model @param {string} prompt */
  async function chat(model, prompt) {
    const response = await fetch(`${options.ollamaHost}/api/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model,
        messages: [
          { role: 'system', content: 'You are a persona of BAT OS.' },
          { role: 'user', content: prompt },
        ],
        stream: false,
      }),
    });
    if (!response.ok) throw new Error(`Ollama answered ${response.status}`);
    const body = await response.json();
    return String(body.message?.content ?? '');
  }

  /** @param {import('discord.js').TextChannel} channel */
  function webhookFor(channel) {
    let hook = webhooks.get(channel.id);
    if (!hook) {
      hook = channel
        .fetchWebhooks()
        .then(
          (found) =>
            found.find((w) => w.applicationId === client.user?.id && w.token) ??
            channel.createWebhook({ name: 'BAT OS floor' }),
        );
      webhooks.set(channel.id, hook);
    }
    return hook;
  }

  /** @param {import('discord.js').Message} message */
  async function dialogue(message) {
    const task = message.content.replace(/<@!?\d+>/g, '').trim();
    const thread = await message.startThread({ name: task.slice(0, 90) || 'Task' });
    const webhook = await webhookFor(/** @type {import('discord.js').TextChannel} */ (message.channel));
    /** @param {string} username @param {string} content */
    const post = (username, content) =>
      webhook.send({ content, username, threadId: thread.id, allowedMentions: NO_MENTIONS });
    const request = `The Architect's request:\n${task}`;
    const plan = await chat(options.models.ALFRED, request);
    const posts = [post('ALFRED', plan)];
    const thesis = await chat(options.models.BRICK, `${request}\n\nPlan: ${plan}`);
    posts.push(post('BRICK', thesis));
    const antithesis = await chat(options.models.ROBIN, `${request}\n\nThesis: ${thesis}`);
    posts.push(post('ROBIN', antithesis));
    const answer = await chat(options.models.ALFRED, `${request}\n\nFinal draft from: ${antithesis}`);
    posts.push(post('ALFRED', answer));
    await Promise.all(posts);
  }

  client.on(Events.MessageCreate, (message) => {
    if (message.author.bot || message.webhookId || !message.inGuild() || message.channel.isThread()) return;
    if (!client.user || !message.mentions.users.has(client.user.id)) return;
    dialogue(message).catch((error) => process.stderr.write(`floor dialogue failed: ${error}\n`));
  });

  return {
    client,
    /** @param {string} token */
    async start(token) {
      const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
      await client.login(token);
      await ready;
    },
    stop: () => client.destroy(),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [ALFRED = '', BRICK = '', ROBIN = ''] = (process.env.FLOOR_MODELS ?? '').split(',');
  const bot = createFloorBot({
    apiUrl: process.env.DISCORD_API_URL ?? 'https://discord.com/api',
    ollamaHost: process.env.OLLAMA_HOST ?? 'http://127.0.0.1:11434',
    models: { ALFRED, BRICK, ROBIN },
  });
  process.once('SIGTERM', () => void bot.stop().then(() => process.exit(0)));
  await bot.start(process.env.DISCORD_TOKEN ?? '');
  process.stdout.write('floor connected\n');
}

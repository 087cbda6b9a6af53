/** Texts the bot's entry points print; kept together so the README and tests can match them. */
export const MISSING_TOKEN = `DISCORD_TOKEN is not set, so the bot cannot log in to Discord.
Create an application at https://discord.com/developers/applications, open Bot, press
"Reset Token" and put the token in .env as DISCORD_TOKEN=... (see .env.example and the README's
"Discord setup"). To talk to the personas without Discord, run: npm run chat`;

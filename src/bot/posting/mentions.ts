/** Model output must never ping anyone. */
export const NO_MENTIONS = { parse: [] as never[], repliedUser: false };

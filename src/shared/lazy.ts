/**
 * A value made on its first use, for what an idle program never needs (a library that takes a
 * while to load, a database only a dialogue reads). Every caller gets the same promise; a
 * failed attempt is forgotten, so the next use tries again.
 */
export interface Lazy<T> {
  get(): Promise<T>;
  /** The value's promise if anyone asked for it yet, else undefined: to close only what was opened. */
  started(): Promise<T> | undefined;
}

export function createLazy<T>(load: () => Promise<T>): Lazy<T> {
  let value: Promise<T> | undefined;
  return {
    get() {
      if (!value) {
        const attempt = load();
        value = attempt;
        attempt.catch(() => {
          if (value === attempt) value = undefined;
        });
      }
      return value;
    },
    started: () => value,
  };
}

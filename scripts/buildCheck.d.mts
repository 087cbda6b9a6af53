/** Written by `npm run build` once the compiler succeeded: its time is the build's. */
export declare const STAMP: string;
/**
 * Why the build in `root/dist` cannot be started, in words for the person who ran it, or
 * undefined when it is complete and newer than every source.
 */
export declare function buildProblem(root: string): string | undefined;

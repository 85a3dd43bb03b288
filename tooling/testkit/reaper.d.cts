/** Kills every recorded process in `stateDir` that still runs, removes temp dirs and records; returns the killed pids. */
export declare function reap(stateDir: string): number[];

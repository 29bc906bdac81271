/** Types of chromium.mjs (plain JavaScript, so that scripts run it with plain node). */
export declare const CHROMIUM_CANDIDATES: readonly string[];
/** Flags every launch uses: no sandbox (root in containers), no network chatter, no updates. */
export declare const CHROMIUM_ARGS: string[];
export declare function findChromium(env?: NodeJS.ProcessEnv): string | null;
export declare function chromiumHint(env?: NodeJS.ProcessEnv): string;
export declare function ensureChromium(): string | null;
export declare function chromiumVersion(path: string): string;

/** Types of compiled.mjs (plain JavaScript, so that the bin can run before anything compiles TypeScript). */
export declare function sourcesDigest(files: readonly string[], base?: URL): string;
export declare function compiledEntries(base?: URL): { main: string; telemetry: string } | null;

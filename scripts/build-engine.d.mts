/** Types of scripts/build-engine.mjs (imported by tests, which build the engine when it is stale). */
export declare const ENGINE_BUILDS: ReadonlyArray<{ file: string; features: string }>;
export declare function buildEngine(options?: { force?: boolean; quiet?: boolean }): Promise<boolean>;
